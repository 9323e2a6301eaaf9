// Shepherd's dashboard: one event stream per page; each change fetches again the parts of the page that
// listen to it (data-live="job:ID task:* ..."), and forms with data-confirm ask first. A change that a part
// names by its id goes to that part alone; the "KIND:*" parts take the others (a job not shown yet), and "*:*"
// parts every change. An append part (a task log) fetches what was added since its data-end, and says where
// that ends; once the stream (re)opens, it fetches itself whole.
"use strict";

(function () {
  const pending = new Set();
  const livePart = () => Array.from(document.querySelectorAll("[data-live]"));
  const outermost = () => livePart().filter((part) => !part.parentElement.closest("[data-live]"));

  function wants(part) {
    return part.dataset.live.split(" ").map((want) => want.split(":"));
  }

  function append(part, answer, text, from) {
    const atEnd = part.scrollTop + part.clientHeight >= part.scrollHeight - 4;
    if (answer.headers.get("X-Log-Start") !== from) part.textContent = "";  // the whole log came
    else if (from !== part.dataset.end) return later(part);  // another answer came first: ask again from its end
    part.insertAdjacentHTML("beforeend", text);
    part.dataset.end = answer.headers.get("X-Log-End");
    if (atEnd) part.scrollTop = part.scrollHeight;
  }

  async function refresh(part, whole) {
    pending.delete(part);
    const from = part.dataset.swap === "append" && !whole ? part.dataset.end : null;
    try {
      const answer = await fetch(from === null ? part.dataset.src : `${part.dataset.src}&from=${from}`,
        { credentials: "same-origin" });
      const text = await answer.text();
      if (answer.status === 404 && part.dataset.swap === "outer") part.remove();
      else if (answer.ok && part.dataset.swap === "outer") part.outerHTML = text;
      else if (answer.ok && part.dataset.swap === "append") append(part, answer, text, from);
      else if (answer.ok) part.innerHTML = text;
    } catch (error) {
      // the stream's next change tries again
    }
  }

  function later(part) {
    if (!pending.has(part)) {
      pending.add(part);
      setTimeout(() => refresh(part, false), 100);
    }
  }

  function changed(change) {
    if (change.all) return outermost().forEach(later);
    const parts = livePart();
    const named = parts.filter((part) => wants(part).some(([kind, id]) => change[kind] === id));
    const namedKinds = new Set(named.flatMap((part) => wants(part).filter(([kind, id]) => change[kind] === id)
      .map(([kind]) => kind)));
    named.forEach(later);
    parts.filter((part) => wants(part).some(([kind, id]) => kind === "*" || (id === "*"
      && change[kind] !== undefined && !namedKinds.has(kind)))).forEach(later);
  }

  if (livePart().length && window.EventSource) {
    const stream = new EventSource("/events");
    stream.onmessage = (message) => changed(JSON.parse(message.data));
    // Whatever changed before the stream opened (or while it was away) is fetched once it is open.
    stream.onopen = () => Promise.all(outermost().map((part) => refresh(part, true)))
      .then(() => { document.body.dataset.stream = "open"; });
  }

  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
