/**
 * The servers the memory benchmark's plugins talk to, started on 127.0.0.1 the first time a
 * plugin needs one and closed together: the fake OpenAI API, a fake Consul with three
 * instances, an OTLP/HTTP sink that only counts, a throwaway PostgreSQL and s3rver.
 *
 * @module
 */

import {
  type FakeConsul,
  type FakeOpenAI,
  startFakeConsul,
  startFakeOpenAI,
  startPostgres,
  startS3,
  type TestPostgres,
  type TestS3,
} from "@vulpes/contract/testing";

/** The ACL token of the fake Consul. */
export const CONSUL_TOKEN = "bench-consul-token";

/** The bucket created in s3rver. */
export const BUCKET = "transcripts";

/** An OTLP/HTTP receiver that answers `{}` and counts what it got. */
export interface OtlpSink {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Requests received. */
  requests: number;
  /** Stop listening. */
  close(): Promise<void>;
}

function startOtlpSink(): OtlpSink {
  const sink = { requests: 0 } as OtlpSink;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async function otlpSink(request) {
      await request.body?.cancel();
      sink.requests++;
      return Response.json({});
    },
  );
  sink.url = `http://127.0.0.1:${server.addr.port}`;
  sink.close = () => server.shutdown();
  return sink;
}

/** Lazily started servers; `close()` stops those that were started. */
export class Servers {
  #openai: Promise<FakeOpenAI> | undefined;
  #consul: Promise<FakeConsul> | undefined;
  #otlp: OtlpSink | undefined;
  #postgres: Promise<TestPostgres> | undefined;
  #s3: Promise<TestS3> | undefined;

  /** The fake OpenAI API (chat, Responses API, embeddings). */
  openai(): Promise<FakeOpenAI> {
    return this.#openai ??= startFakeOpenAI({ record: false });
  }

  /** A fake Consul with three healthy `vllm` instances serving `gpt-4o` and `llama`. */
  consul(): Promise<FakeConsul> {
    return this.#consul ??= startFakeConsul({ token: CONSUL_TOKEN }).then((consul) => {
      for (const [id, port] of [["vllm-1", 8001], ["vllm-2", 8002], ["vllm-3", 8003]] as const) {
        consul.register("vllm", {
          Service: { ID: id, Port: port, Tags: ["openai"], Meta: { models: "gpt-4o, llama" } },
        });
      }
      return consul;
    });
  }

  /** The OTLP sink. */
  otlp(): OtlpSink {
    return this.#otlp ??= startOtlpSink();
  }

  /** PostgreSQL (starting takes seconds: call early, await late). */
  postgres(): Promise<TestPostgres> {
    return this.#postgres ??= startPostgres({ database: "gateway" });
  }

  /** s3rver with the bucket {@linkcode BUCKET}. */
  s3(): Promise<TestS3> {
    return this.#s3 ??= startS3({ buckets: [BUCKET] });
  }

  /** Stop every server started; failures are ignored (this runs in `finally`). */
  async close(): Promise<void> {
    const closing: Promise<unknown>[] = [];
    const close = (server: Promise<{ close(): Promise<void> }> | undefined) => {
      if (server) closing.push(server.then((s) => s.close()).catch(() => {}));
    };
    close(this.#openai);
    close(this.#consul);
    close(this.#postgres);
    close(this.#s3);
    if (this.#otlp) closing.push(this.#otlp.close().catch(() => {}));
    await Promise.all(closing);
  }
}
