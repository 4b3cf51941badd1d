/**
 * The floor of the stdio hop: a process that writes back every chunk it reads, with the same
 * pipes as a plugin (fd 0 and 1 as polled sockets) and no framing, JSON or JSON-RPC.
 *
 * @module
 */

import { Socket } from "node:net";

const input = new Socket({ fd: 0, readable: true, writable: false });
const output = new Socket({ fd: 1, readable: false, writable: true });
input.on("data", (chunk: Uint8Array) => output.write(chunk));
input.on("end", () => output.end());
