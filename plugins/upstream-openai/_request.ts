/**
 * The body sent upstream: the client's request with the route's model; when streaming, with
 * `stream_options.include_usage` so that the usage is always known.
 */
export function chatBody(
  request: Record<string, unknown>,
  model: string,
  stream: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...request, model };
  if (stream) {
    const options = typeof request.stream_options === "object" && request.stream_options !== null
      ? request.stream_options
      : {};
    body.stream = true;
    body.stream_options = { ...options, include_usage: true };
  } else {
    delete body.stream;
    delete body.stream_options;
  }
  return body;
}
