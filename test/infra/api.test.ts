import { describe, expect, it } from "vitest";
import { GATEWAY_MESSAGE, gatewayAnswerRows, INTEGRATION_TIMEOUT_SECONDS, routes } from "../../lib/resources.js";
import { type CfnResource, logicalIdWhere, onlyResource, synthesizeStage } from "./synth.js";

/** `/v1/tasks/{task_id}/stop` of an AWS::ApiGateway::Resource, rebuilt from its ParentId chain. */
function resourcePath(resources: Record<string, CfnResource>, logicalId: string): string {
  const resource = resources[logicalId];
  if (resource?.Type !== "AWS::ApiGateway::Resource") return "";
  const parent = resource.Properties?.ParentId as { Ref?: string };
  return `${parent.Ref ? resourcePath(resources, parent.Ref) : ""}/${resource.Properties?.PathPart}`;
}

describe("the REST API", () => {
  const { template } = synthesizeStage("dev");
  const resources = template.toJSON().Resources as Record<string, CfnResource>;

  it("serves every route of lib/resources.ts, each proxied to its function", () => {
    const methods = Object.values(template.findResources("AWS::ApiGateway::Method")) as CfnResource[];
    const served = methods.map((method) => ({
      method: method.Properties?.HttpMethod,
      path: resourcePath(resources, (method.Properties?.ResourceId as { Ref: string } | undefined)?.Ref ?? ""),
      integration: method.Properties?.Integration,
    }));
    expect(served).toHaveLength(routes.length);
    for (const route of routes) {
      const match = served.find((candidate) => candidate.method === route.method && candidate.path === route.path);
      expect(match, `${route.method} ${route.path}`).toBeDefined();
      const functionId = logicalIdWhere(
        template,
        "AWS::Lambda::Function",
        "FunctionName",
        `stop-task-dev-${route.functionName}`,
      );
      expect(match?.integration).toEqual({
        Type: "AWS_PROXY",
        IntegrationHttpMethod: "POST",
        // The local server gives a function as long before its 504.
        TimeoutInMillis: INTEGRATION_TIMEOUT_SECONDS * 1000,
        Uri: {
          "Fn::Join": [
            "",
            [
              "arn:",
              { Ref: "AWS::Partition" },
              ":apigateway:",
              { Ref: "AWS::Region" },
              ":lambda:path/2015-03-31/functions/",
              { "Fn::GetAtt": [functionId, "Arn"] },
              "/invocations",
            ],
          ],
        },
      });
    }
  });

  it("leaves authorization to the function: no API-key requirement, no usage plan, no authorizer", () => {
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "POST",
      AuthorizationType: "NONE",
      ApiKeyRequired: false,
      RequestParameters: { "method.request.path.task_id": true },
    });
    template.resourceCountIs("AWS::ApiGateway::ApiKey", 0);
    template.resourceCountIs("AWS::ApiGateway::UsagePlan", 0);
    template.resourceCountIs("AWS::ApiGateway::Authorizer", 0);
  });

  it("names the stage after the deployment stage, throttles it and logs errors without request data", () => {
    const { resource: stage } = onlyResource(template, "AWS::ApiGateway::Stage");
    expect(stage.Properties).toMatchObject({
      StageName: "dev",
      TracingEnabled: false,
      MethodSettings: [
        {
          HttpMethod: "*",
          ResourcePath: "/*",
          ThrottlingRateLimit: 10,
          ThrottlingBurstLimit: 20,
          LoggingLevel: "ERROR",
          DataTraceEnabled: false,
          MetricsEnabled: true,
        },
      ],
    });
  });

  it("writes JSON access logs with the request ids to their own log group", () => {
    const { resource: stage } = onlyResource(template, "AWS::ApiGateway::Stage");
    const accessLogs = Object.entries(template.findResources("AWS::Logs::LogGroup")).find(
      ([, group]) => group.Properties.LogGroupName === "/aws/apigateway/stop-task-dev-api/access",
    );
    expect(accessLogs?.[1].Properties.RetentionInDays).toBe(7);
    const setting = stage.Properties?.AccessLogSetting as { DestinationArn: unknown; Format: string };
    expect(setting.DestinationArn).toEqual({ "Fn::GetAtt": [accessLogs?.[0], "Arn"] });
    expect(JSON.parse(setting.Format)).toMatchObject({
      requestId: "$context.requestId",
      extendedRequestId: "$context.extendedRequestId",
      status: "$context.status",
      integrationStatus: "$context.integrationStatus",
      errorMessage: "$context.error.message",
    });
  });

  it("validates request parameters on every method", () => {
    const { logicalId: validatorId, resource: validator } = onlyResource(template, "AWS::ApiGateway::RequestValidator");
    expect(validator.Properties).toMatchObject({ ValidateRequestBody: true, ValidateRequestParameters: true });
    for (const method of Object.values(template.findResources("AWS::ApiGateway::Method"))) {
      expect(method.Properties.RequestValidatorId).toEqual({ Ref: validatorId });
    }
  });

  it("throttles prod at its own rate and burst, with tracing on", () => {
    const { resource: stage } = onlyResource(synthesizeStage("prod").template, "AWS::ApiGateway::Stage");
    expect(stage.Properties).toMatchObject({
      StageName: "prod",
      TracingEnabled: true,
      MethodSettings: [{ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }],
    });
  });
});

describe("API Gateway's own answers (lib/resources.ts gatewayAnswers)", () => {
  const { template } = synthesizeStage("dev");
  const restApiId = onlyResource(template, "AWS::ApiGateway::RestApi").logicalId;
  const gatewayResponses = Object.values(template.findResources("AWS::ApiGateway::GatewayResponse")) as CfnResource[];
  const byType = (type: string) => gatewayResponses.filter((response) => response.Properties?.ResponseType === type);

  /** What API Gateway would put in the body, for a request id and a caught message. */
  const rendered = (bodyTemplate: string) =>
    JSON.parse(
      bodyTemplate.replaceAll("$context.requestId", "req-1").replaceAll("$context.error.messageString", '"Forbidden"'),
    );

  it("defines one GatewayResponse per row of the table, and no other", () => {
    expect(gatewayResponses.map((response) => response.Properties?.ResponseType).sort()).toEqual(
      gatewayAnswerRows()
        .map((row) => row.type)
        .sort(),
    );
    for (const response of gatewayResponses) expect(response.Properties?.RestApiId).toEqual({ Ref: restApiId });
  });

  it.each(gatewayAnswerRows().map((row) => [row.type, row] as const))(
    "%s: the table's status, detail and headers",
    (type, row) => {
      const [response] = byType(type);
      const properties = response?.Properties ?? {};
      expect(properties.StatusCode).toBe(row.status === undefined ? undefined : String(row.status));
      const templates = properties.ResponseTemplates as Record<string, string>;
      expect(Object.keys(templates)).toEqual(["application/json"]);
      expect(rendered(templates["application/json"] ?? "")).toEqual({
        detail: row.detail === GATEWAY_MESSAGE ? "Forbidden" : row.detail,
      });
      expect(properties.ResponseParameters).toEqual({
        "gatewayresponse.header.x-request-id": "context.requestId",
        ...(row.retryAfterSeconds === undefined
          ? {}
          : { "gatewayresponse.header.retry-after": `'${row.retryAfterSeconds}'` }),
      });
    },
  );

  it("answers an unknown route (or another method on a known one) 404 Not Found, not API Gateway's 403", () => {
    expect(byType("MISSING_AUTHENTICATION_TOKEN")[0]?.Properties).toMatchObject({
      StatusCode: "404",
      ResponseTemplates: { "application/json": '{"detail":"Not Found"}' },
    });
  });

  it("answers throttling 429 with Retry-After, and each catch-all with the status and message it caught", () => {
    expect(byType("THROTTLED")[0]?.Properties).toMatchObject({
      StatusCode: "429",
      ResponseParameters: { "gatewayresponse.header.retry-after": "'1'" },
    });
    for (const type of ["DEFAULT_4XX", "DEFAULT_5XX"]) {
      expect(byType(type)[0]?.Properties).not.toHaveProperty("StatusCode");
      expect(byType(type)[0]?.Properties?.ResponseTemplates).toEqual({
        "application/json": '{"detail":$context.error.messageString}',
      });
    }
  });

  it("redeploys the stage when an answer changes (the deployment depends on every GatewayResponse)", () => {
    const { resource: deployment } = onlyResource(template, "AWS::ApiGateway::Deployment");
    const responseIds = Object.keys(template.findResources("AWS::ApiGateway::GatewayResponse"));
    expect(responseIds).toHaveLength(gatewayAnswerRows().length);
    expect((deployment as CfnResource & { DependsOn?: string[] }).DependsOn).toEqual(
      expect.arrayContaining(responseIds),
    );
  });
});
