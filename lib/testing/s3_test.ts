import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { startS3, type TestS3 } from "./s3.ts";

function client(s3: TestS3): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    maxAttempts: 1,
  });
}

Deno.test("startS3() serves the S3 API with the buckets asked for", async () => {
  const s3 = await startS3({ buckets: ["transcripts", "other-bucket"] });
  const s3Client = client(s3);
  try {
    assert.equal(s3.bucket, "transcripts");
    assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    await s3Client.send(
      new PutObjectCommand({ Bucket: "transcripts", Key: "a/b.txt", Body: "hello" }),
    );
    const got = await s3Client.send(
      new GetObjectCommand({ Bucket: "transcripts", Key: "a/b.txt" }),
    );
    assert.equal(await got.Body!.transformToString(), "hello");
    await s3Client.send(new CreateBucketCommand({ Bucket: "made-later" }));
  } finally {
    s3Client.destroy();
    await s3.close();
  }
});

Deno.test("startS3() stop() refuses connections and start() comes back with the same data", async () => {
  const s3 = await startS3({ buckets: ["transcripts"] });
  const s3Client = client(s3);
  try {
    await s3Client.send(new PutObjectCommand({ Bucket: "transcripts", Key: "k", Body: "v" }));
    await s3.stop();
    await assert.rejects(
      s3Client.send(new PutObjectCommand({ Bucket: "transcripts", Key: "k2", Body: "v" })),
    );
    await s3.start();
    const listed = await s3Client.send(new ListObjectsV2Command({ Bucket: "transcripts" }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key), ["k"]);
    assert.equal(s3.endpoint, `http://127.0.0.1:${s3.port}`);
  } finally {
    s3Client.destroy();
    await s3.close();
  }
  await assert.rejects(Deno.stat(s3.directory));
});

Deno.test("startS3() is closed when an `await using` block throws", async () => {
  let port = 0;
  let directory = "";
  await assert.rejects(
    async () => {
      await using s3 = await startS3({ buckets: ["transcripts"] });
      port = s3.port;
      directory = s3.directory;
      await Deno.stat(directory);
      throw new Error("the test failed");
    },
    /the test failed/,
  );
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
  await assert.rejects(Deno.stat(directory), Deno.errors.NotFound);
});

Deno.test("startS3() on a taken port rejects naming the port, and leaves no directory", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  // A temp root of its own, so directories made by tests running beside this one do not count.
  const root = await Deno.makeTempDir({ prefix: "vulpes-s3-test-" });
  const tmpdir = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", root);
  try {
    await assert.rejects(
      startS3({ port }),
      new RegExp(`Cannot start s3rver on 127\\.0\\.0\\.1:${port}: .*without a port`),
    );
    assert.deepEqual([...Deno.readDirSync(root)], []);
  } finally {
    if (tmpdir === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", tmpdir);
    await Deno.remove(root, { recursive: true });
  }
});
