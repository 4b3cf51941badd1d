// Preloaded with `node --import` before the Portkey gateway, which listens on every interface
// (its `serve()` call passes no hostname): a listen without a host is bound to 127.0.0.1 instead.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(...args) {
  if (
    typeof args[0] === "number" &&
    (args[1] === undefined || typeof args[1] === "function")
  ) {
    const [port, ...rest] = args;
    return listen.call(
      this,
      port,
      "127.0.0.1",
      ...rest.filter((arg) => arg !== undefined),
    );
  }
  return listen.apply(this, args);
};
