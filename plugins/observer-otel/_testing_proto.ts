/**
 * Test support: decoders of OTLP protobuf requests into the OTLP JSON shape. They read the
 * wire format field by field, following the field numbers of opentelemetry-proto (trace/v1,
 * metrics/v1, common/v1, resource/v1); fields the tests do not need are skipped.
 *
 * @module
 */

type Json = Record<string, unknown>;
type AnyValueJson = Json;

interface Field {
  no: number;
  wire: number;
  int: bigint;
  bytes: Uint8Array;
}

function readFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    while (true) {
      const byte = buf[pos++];
      if (byte === undefined) throw new RangeError("truncated varint");
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    const empty = new Uint8Array();
    if (wire === 0) fields.push({ no, wire, int: varint(), bytes: empty });
    else if (wire === 1) {
      fields.push({
        no,
        wire,
        int: view.getBigUint64(pos, true),
        bytes: buf.subarray(pos, pos + 8),
      });
      pos += 8;
    } else if (wire === 2) {
      const length = Number(varint());
      fields.push({ no, wire, int: 0n, bytes: buf.subarray(pos, pos + length) });
      pos += length;
    } else if (wire === 5) {
      fields.push({
        no,
        wire,
        int: BigInt(view.getUint32(pos, true)),
        bytes: buf.subarray(pos, pos + 4),
      });
      pos += 4;
    } else throw new RangeError(`unsupported wire type ${wire}`);
  }
  return fields;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const double = (bytes: Uint8Array) =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0, true);
const all = (fields: Field[], no: number) => fields.filter((f) => f.no === no);
const one = (fields: Field[], no: number) => fields.find((f) => f.no === no);

function anyValue(buf: Uint8Array): AnyValueJson {
  const f = readFields(buf)[0];
  if (!f) return {};
  switch (f.no) {
    case 1:
      return { stringValue: text(f.bytes) };
    case 2:
      return { boolValue: f.int !== 0n };
    case 3:
      return { intValue: String(BigInt.asIntN(64, f.int)) };
    case 4:
      return { doubleValue: double(f.bytes) };
    case 5:
      return { arrayValue: { values: all(readFields(f.bytes), 1).map((v) => anyValue(v.bytes)) } };
    default:
      return {};
  }
}

function keyValues(fields: Field[], no: number): Json[] {
  return all(fields, no).map((kv) => {
    const inner = readFields(kv.bytes);
    return {
      key: text(one(inner, 1)?.bytes ?? new Uint8Array()),
      value: anyValue(one(inner, 2)?.bytes ?? new Uint8Array()),
    };
  });
}

function resource(fields: Field[]): Json {
  const r = one(fields, 1);
  return { attributes: r ? keyValues(readFields(r.bytes), 1) : [] };
}

/** Decode an `ExportTraceServiceRequest` into the OTLP JSON shape. */
export function decodeTraceRequest(buf: Uint8Array): Json {
  return {
    resourceSpans: all(readFields(buf), 1).map((rs) => {
      const rsFields = readFields(rs.bytes);
      return {
        resource: resource(rsFields),
        scopeSpans: all(rsFields, 2).map((ss) => ({
          spans: all(readFields(ss.bytes), 2).map((s) => {
            const f = readFields(s.bytes);
            const status = one(f, 15) ? readFields(one(f, 15)!.bytes) : [];
            return {
              traceId: hex(one(f, 1)?.bytes ?? new Uint8Array()),
              spanId: hex(one(f, 2)?.bytes ?? new Uint8Array()),
              parentSpanId: hex(one(f, 4)?.bytes ?? new Uint8Array()),
              name: text(one(f, 5)?.bytes ?? new Uint8Array()),
              kind: Number(one(f, 6)?.int ?? 0n),
              startTimeUnixNano: String(one(f, 7)?.int ?? 0n),
              endTimeUnixNano: String(one(f, 8)?.int ?? 0n),
              attributes: keyValues(f, 9),
              status: {
                message: text(one(status, 2)?.bytes ?? new Uint8Array()),
                code: Number(one(status, 3)?.int ?? 0n),
              },
            };
          }),
        })),
      };
    }),
  };
}

function packedDoubles(fields: Field[], no: number): number[] {
  return all(fields, no).flatMap((f) => {
    if (f.wire === 1) return [double(f.bytes)];
    const out: number[] = [];
    for (let i = 0; i + 8 <= f.bytes.length; i += 8) out.push(double(f.bytes.subarray(i, i + 8)));
    return out;
  });
}

/** Decode an `ExportMetricsServiceRequest` (histograms only) into the OTLP JSON shape. */
export function decodeMetricsRequest(buf: Uint8Array): Json {
  return {
    resourceMetrics: all(readFields(buf), 1).map((rm) => {
      const rmFields = readFields(rm.bytes);
      return {
        resource: resource(rmFields),
        scopeMetrics: all(rmFields, 2).map((sm) => ({
          metrics: all(readFields(sm.bytes), 2).map((m) => {
            const f = readFields(m.bytes);
            const histogram = one(f, 9) ? readFields(one(f, 9)!.bytes) : undefined;
            return {
              name: text(one(f, 1)?.bytes ?? new Uint8Array()),
              unit: text(one(f, 3)?.bytes ?? new Uint8Array()),
              ...(histogram
                ? {
                  histogram: {
                    aggregationTemporality: Number(one(histogram, 2)?.int ?? 0n),
                    dataPoints: all(histogram, 1).map((p) => {
                      const pf = readFields(p.bytes);
                      return {
                        attributes: keyValues(pf, 9),
                        count: String(one(pf, 4)?.int ?? 0n),
                        sum: one(pf, 5) ? double(one(pf, 5)!.bytes) : 0,
                        explicitBounds: packedDoubles(pf, 7),
                      };
                    }),
                  },
                }
                : {}),
            };
          }),
        })),
      };
    }),
  };
}
