import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { gatewayResponseDefinition } from "../../lib/http/gateway-answers.js";
import {
  type FunctionName,
  gatewayAnswerRows,
  INTEGRATION_TIMEOUT_SECONDS,
  physicalName,
  type RouteDefinition,
  routes,
} from "../../lib/resources.js";

export interface HttpApiProps {
  readonly prefix: string;
  /** API Gateway stage name, e.g. dev or prod. */
  readonly stageName: string;
  readonly throttling: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention: logs.RetentionDays;
  readonly retainData: boolean;
  readonly tracing: boolean;
  /** The function behind each `functionName` of lib/resources.ts `routes`. */
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
  /** Defaults to every route of lib/resources.ts, the list the local server serves too. */
  readonly routes?: readonly RouteDefinition[];
}

/** `{task_id}` in `/v1/tasks/{task_id}/stop` becomes a required `method.request.path.task_id`. */
function pathParameters(path: string): Record<string, boolean> {
  return Object.fromEntries(
    [...path.matchAll(/\{([^}]+)\}/g)].map((match) => [`method.request.path.${match[1]}`, true]),
  );
}

/** `MISSING_AUTHENTICATION_TOKEN` -> `MissingAuthenticationTokenResponse`. */
function constructIdOf(responseType: string): string {
  const words = responseType.toLowerCase().split("_");
  return `${words.map((word) => word.replace(/^[a-z]/, (letter) => letter.toUpperCase())).join("")}Response`;
}

/**
 * The public REST API: one method per route, each proxied to its function. The function
 * authorizes the `x-api-key` itself (the reference's 401 body and ordering), so API Gateway's
 * own API-key requirement stays off.
 */
export class HttpApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const apiName = physicalName(props.prefix, "api");

    this.accessLogGroup = new logs.LogGroup(this, "AccessLogs", {
      logGroupName: `/aws/apigateway/${apiName}/access`,
      retention: props.logRetention,
      removalPolicy,
    });

    this.api = new apigateway.RestApi(this, "RestApi", {
      restApiName: apiName,
      description: "Stop Task API",
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Access and execution logging need API Gateway's account-level CloudWatch role. The
      // setting is one per account and region, shared with every other API there: keep the role
      // when this stack goes, or their logging would break with it.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: props.stageName,
        throttlingRateLimit: props.throttling.rateLimit,
        throttlingBurstLimit: props.throttling.burstLimit,
        tracingEnabled: props.tracing,
        metricsEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Data tracing would write request headers, the x-api-key among them, to the logs.
        dataTraceEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigateway.AccessLogField.contextRequestId(),
            extendedRequestId: apigateway.AccessLogField.contextExtendedRequestId(),
            requestTime: apigateway.AccessLogField.contextRequestTime(),
            ip: apigateway.AccessLogField.contextIdentitySourceIp(),
            httpMethod: apigateway.AccessLogField.contextHttpMethod(),
            resourcePath: apigateway.AccessLogField.contextResourcePath(),
            path: apigateway.AccessLogField.contextPath(),
            status: apigateway.AccessLogField.contextStatus(),
            responseLength: apigateway.AccessLogField.contextResponseLength(),
            responseLatency: apigateway.AccessLogField.contextResponseLatency(),
            integrationStatus: apigateway.AccessLogField.contextIntegrationStatus(),
            integrationLatency: apigateway.AccessLogField.contextIntegrationLatency(),
            errorMessage: apigateway.AccessLogField.contextErrorMessage(),
            xrayTraceId: apigateway.AccessLogField.contextXrayTraceId(),
          }),
        ),
      },
    });

    // Checks that the path parameters are present; the task_id format itself is the function's
    // to judge, because the reference answers a bad id with 422 only after the key is checked.
    const requestValidator = this.api.addRequestValidator("RequestValidator", {
      requestValidatorName: physicalName(props.prefix, "request-validator"),
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    for (const route of props.routes ?? routes) {
      this.api.root.resourceForPath(route.path).addMethod(
        route.method,
        new apigateway.LambdaIntegration(props.functions[route.functionName], {
          proxy: true,
          allowTestInvoke: false,
          // Stated, though it is the default: the local server times out after the same.
          timeout: Duration.seconds(INTEGRATION_TIMEOUT_SECONDS),
        }),
        {
          authorizationType: apigateway.AuthorizationType.NONE,
          apiKeyRequired: false,
          requestParameters: pathParameters(route.path),
          requestValidator,
        },
      );
    }

    // What API Gateway answers itself (unknown routes, throttling, failed functions...), in the
    // service's own error shape and with the request id: one GatewayResponse per row of the table
    // the local server answers from too.
    for (const answer of gatewayAnswerRows()) {
      this.api.addGatewayResponse(constructIdOf(answer.type), {
        type: apigateway.ResponseType.of(answer.type),
        ...gatewayResponseDefinition(answer),
      });
    }

    Validations.of(this.api).acknowledge(
      {
        id: "AwsSolutions-APIG4",
        reason:
          "The function authorizes every request by its x-api-key before anything else (401 as the reference " +
          "defines); an API Gateway authorizer would duplicate that lookup and change the 401 body.",
      },
      {
        id: "AwsSolutions-COG4",
        reason:
          "Callers are machines holding organization API keys, not Cognito users; the function authorizes the key.",
      },
      {
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        reason:
          "API Gateway's account-level logging role: AWS's managed policy is the documented one " +
          "for it, and it must cover the execution log groups API Gateway names and creates itself.",
      },
      {
        id: "AwsSolutions-APIG3",
        reason:
          "No WAF web ACL yet: stage throttling bounds the request rate, and every request costs an API-key lookup before any work.",
      },
    );
  }

  get url(): string {
    return this.api.url;
  }
}
