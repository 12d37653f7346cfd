/** The reference for cold init: a Lambda handler that imports nothing, bundled like the real ones. */
export const handler = async () => ({ statusCode: 200, body: "" });
