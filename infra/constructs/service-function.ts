import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type {
  BulkStopConfig,
  CleanupConfig,
  ExecutionStreamConfig,
  GetTaskConfig,
  StopTaskConfig,
} from "../../lib/config.js";
import { type FunctionName, functionDefinitions, physicalName } from "../../lib/resources.js";
import { functionBundling } from "../bundling.js";

/** Only names lib/config.ts reads can be set: a typo fails the type check, not a cold start. */
export type FunctionEnvironmentName = Extract<
  keyof StopTaskConfig | keyof GetTaskConfig | keyof CleanupConfig | keyof ExecutionStreamConfig | keyof BulkStopConfig,
  string
>;

export interface ServiceFunctionProps {
  readonly prefix: string;
  /** Which function of lib/resources.ts `functionDefinitions`: its entry file, handler export and timeout. */
  readonly name: FunctionName;
  readonly logRetention: logs.RetentionDays;
  readonly retainData: boolean;
  readonly memorySize?: number;
}

const repoFile = (relative: string) => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

/**
 * One Lambda of the service: bundled by the local esbuild (no Docker), with the AWS SDK inside
 * the bundle so production runs the SDK version the tests ran. Its role starts empty; the
 * tables and queues add exactly what the function calls through their grant helpers.
 */
export class ServiceFunction extends Construct {
  readonly name: FunctionName;
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    this.name = props.name;
    const definition = functionDefinitions[props.name];
    const functionName = physicalName(props.prefix, props.name);

    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: props.logRetention,
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // A role of our own instead of AWSLambdaBasicExecutionRole, whose log statements cover `*`.
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `${functionName}: writes its own log group; tables and queues grant the rest`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, "Function", {
      functionName,
      entry: repoFile(definition.entry),
      handler: definition.handlerExport,
      projectRoot: repoFile(""),
      depsLockFilePath: repoFile("package-lock.json"),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: Duration.seconds(definition.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      // SDK v3 keeps connections alive by default; the v2 variable would only be noise.
      awsSdkConnectionReuse: false,
      // No NODE_OPTIONS: `--enable-source-maps` would parse the bundle's source map at every cold
      // start, and the service logs error names, never stack traces (docs/performance.md).
      environment: {},
      bundling: functionBundling,
    });

    // nodejs22.x is the runtime this service is built and tested on (Powertools, middy 6 and the
    // toolchain are pinned for it); moving to a newer runtime is a deliberate upgrade.
    Validations.of(this.function).acknowledge({
      id: "AwsSolutions-L1",
      reason: "Pinned to nodejs22.x, the runtime the code is tested on; runtime upgrades are deliberate changes.",
    });
  }

  get functionArn(): string {
    return this.function.functionArn;
  }

  /**
   * `lambda:InvokeFunction` on this function's unqualified ARN only, and its name in the
   * caller's STOP_FUNCTION_NAME-style variable. Written by hand because `grantInvoke()` also
   * allows `<arn>:*` (every version and alias), which no caller here uses.
   */
  grantDirectInvoke(caller: ServiceFunction, nameVariable: FunctionEnvironmentName): void {
    caller.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [this.functionArn] }),
    );
    caller.setEnvironment(nameVariable, this.function.functionName);
  }

  /** For the grant helpers of the resources this function uses. */
  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }

  setEnvironment(name: FunctionEnvironmentName, value: string): void {
    this.function.addEnvironment(name, value);
  }
}
