/**
 * The check of bench/e2e.ts before it measures a target: one JSON and one streamed chat
 * completion must come back 200 with the mock's echo, so that the numbers are about answers and
 * not about errors (a 401 or a 429 is fast). Through the dev gateway, the first request must be
 * a cache miss and the same request again a hit: the cache is in the path, and the benchmark's
 * unique bodies are what make every measured request a miss.
 *
 * @module
 */

/** What {@linkcode verifyTarget} needs of a target. */
export interface Checked {
  /** `mock`, `vulpes` or `portkey`. */
  name: string;
  /** Its chat completions URL. */
  url: string;
  /** The headers of every request. */
  headers: Record<string, string>;
}

/**
 * Send one JSON and one streamed request and check the answers.
 *
 * @param target The target.
 * @param model The model to ask for.
 * @throws {Error} When an answer is not the mock's echo with status 200.
 */
export async function verifyTarget(target: Checked, model: string): Promise<void> {
  const fail = (what: string) => {
    throw new Error(`Cannot use ${target.name} (${target.url}): ${what}`);
  };
  const text = `Check ${crypto.randomUUID()}`;
  const post = (body: unknown) =>
    fetch(target.url, { method: "POST", headers: target.headers, body: JSON.stringify(body) });
  const request = { model, messages: [{ role: "user", content: text }] };
  const json = await post(request);
  const answer = await json.text();
  if (json.status !== 200) fail(`status ${json.status}: ${answer.slice(0, 300)}`);
  const content = JSON.parse(answer).choices?.[0]?.message?.content;
  if (content !== `Echo: ${text}`) fail(`unexpected answer ${answer.slice(0, 300)}`);
  if (target.name === "vulpes") {
    if (json.headers.get("x-vulpes-cache") !== "miss") fail("the first request was not a miss");
    const again = await post(request);
    await again.body?.cancel();
    if (again.headers.get("x-vulpes-cache") !== "hit") {
      fail(`the same request again was not a cache hit (status ${again.status})`);
    }
  }
  const streamed = await post({ ...request, stream: true });
  const events = await streamed.text();
  if (streamed.status !== 200) fail(`status ${streamed.status} for a stream: ${events}`);
  const type = streamed.headers.get("content-type") ?? "";
  if (!type.startsWith("text/event-stream")) fail(`content type "${type}" for a stream`);
  const data = events.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) =>
    l.slice(5).trim()
  );
  if (data.at(-1) !== "[DONE]") fail(`a stream without [DONE]: ${events.slice(-300)}`);
  const pieces = data.slice(0, -1).map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? "");
  if (pieces.join("") !== `Echo: ${text}`) fail(`unexpected stream ${events.slice(0, 300)}`);
}
