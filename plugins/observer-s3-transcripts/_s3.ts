/**
 * The S3 side: a client configured only from the plugin's config (never from `AWS_*`
 * variables or `~/.aws` files, as far as the SDK lets itself be told), and one PUT.
 *
 * @module
 */

import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { operationSignal } from "@vulpes/contract/plugin";
import type { Config } from "./config.ts";

/** Writes one object; rejects when the store did not take it. */
export type PutObject = (key: string, body: Uint8Array, signal: AbortSignal) => Promise<void>;

/** The client and the PUT of a config. */
export function s3Writer(s3: Config["s3"]): { put: PutObject; destroy(): void } {
  const client = new S3Client({
    region: s3.region,
    ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
    forcePathStyle: s3.force_path_style,
    credentials: {
      accessKeyId: s3.access_key_id,
      secretAccessKey: s3.secret_access_key,
      ...(s3.session_token === undefined ? {} : { sessionToken: s3.session_token }),
    },
    // The plugin retries, with its own backoff, for as long as it runs.
    maxAttempts: 1,
    retryMode: "standard",
    // Given explicitly so the SDK does not look them up in the environment or ~/.aws.
    useDualstackEndpoint: false,
    useFipsEndpoint: false,
    useArnRegion: false,
    disableMultiregionAccessPoints: true,
    disableS3ExpressSessionAuth: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    defaultsMode: "standard",
    userAgentAppId: "vulpes-observer-s3-transcripts",
    sigv4aSigningRegionSet: [s3.region],
    authSchemePreference: ["sigv4"],
  });
  const sse = s3.server_side_encryption === "none" ? {} : {
    ServerSideEncryption: s3.server_side_encryption,
    ...(s3.server_side_encryption === "aws:kms" && s3.sse_kms_key_id !== undefined
      ? { SSEKMSKeyId: s3.sse_kms_key_id }
      : {}),
  };
  return {
    put: async function put(key, body, signal) {
      using operation = operationSignal(
        signal,
        s3.timeout_ms,
        `The PUT of ${key} took longer than s3.timeout_ms (${s3.timeout_ms} ms)`,
      );
      await client.send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: key,
          Body: body,
          ContentType: "application/json",
          ContentEncoding: "gzip",
          ...sse,
        }),
        { abortSignal: operation.signal },
      );
    },
    destroy() {
      client.destroy();
    },
  };
}
