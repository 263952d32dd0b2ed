// The page-wide banner (#banner in base.html): the server unreachable (Socket.IO down),
// FreeSWITCH unreachable (the server's link event, the agent's own node down with several
// nodes, or a 503 reply), or the session over.

import { url } from "../mount.js";
import { setShown, setText } from "./dom.js";
import { nodeDown } from "./state.js";

export function bannerMessage(state) {
  if (state.socket === "signed-out") {
    return { kind: "session", text: "Your session has ended. Sign in again to take calls." };
  }
  if (state.socket === "disconnected") {
    return {
      kind: "server",
      text: "The call center server is unreachable; reconnecting… What you see may be out of date.",
    };
  }
  if (state.link && !state.link.connected) {
    return {
      kind: "freeswitch",
      text: `FreeSWITCH is unreachable (${state.link.state}); reconnecting… Calls cannot be handled from this page.`,
    };
  }
  const down = nodeDown(state);
  if (down) {
    const which = down.node ? `Your FreeSWITCH node (${down.node})` : "Your FreeSWITCH node";
    return {
      kind: "freeswitch",
      text: `${which} is unreachable; reconnecting… Calls cannot be handled from this page.`,
    };
  }
  if (state.freeswitchError) {
    return { kind: "freeswitch", text: `FreeSWITCH is unreachable: ${state.freeswitchError}` };
  }
  return null;
}

export function mountBanner(banner) {
  banner.dataset.testid = "banner";
  const text = document.createElement("span");
  text.dataset.testid = "banner-text";
  const link = document.createElement("a");
  link.href = url(`/login?next=${encodeURIComponent(url("/agent"))}`);
  link.textContent = "Sign in";
  link.className = "banner-link";
  banner.replaceChildren(text, link);
  return function render(state) {
    const message = bannerMessage(state);
    setShown(banner, Boolean(message));
    banner.dataset.kind = message?.kind ?? "";
    setText(text, message?.text ?? "");
    setShown(link, message?.kind === "session");
  };
}
