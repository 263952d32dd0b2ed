// Where the product is mounted, for every URL the pages' scripts build.
//
// On its own (`callcenter serve`) it answers at the site's root: the API at
// /call-center/api, Socket.IO at /socket.io in the default namespace. Inside another
// Flask app (dashboard/extension.py) everything is under a prefix such as /callcenter,
// and its Socket.IO events travel in a namespace of their own. base.html and
// wallboard.html put both on <html> (data-base, data-socketio-path,
// data-socketio-namespace); absent, the defaults are the product on its own.
import { io } from "../vendor/socket.io-client/socket.io.esm.min.js";

const data = document.documentElement.dataset;

/** The product's root path: "" on its own, "/callcenter" (say) inside a host app. */
export const BASE = (data.base || "").replace(/\/+$/, "");

/** The REST API's root. */
export const API = `${BASE}/call-center/api`;

/** A path of the product (starting with "/") as the browser must ask for it. */
export function url(path) {
  return BASE + path;
}

/**
 * A Socket.IO connection to the product: `namespace` is the product's own ("" for the
 * pages' push, "/console" for the ESL console).
 */
export function connect(namespace = "", options = {}) {
  const name = `${data.socketioNamespace || ""}${namespace}` || "/";
  return io(name, { path: data.socketioPath || "/socket.io", ...options });
}
