/** The CDK app (cdk.json runs it): `npx cdk synth -c stage=dev`. */
import { App } from "aws-cdk-lib";
import { defineStopTaskApp } from "./stop-task-app.js";

const app = new App();
defineStopTaskApp(app);
app.synth();
