// Shepherd's dashboard: one event stream per page; each change fetches again the parts of the page that
// listen to it (data-live="job:ID task:* ..."), and forms with data-confirm ask first. A change that a part
// names by its id goes to that part alone; the "KIND:*" parts take the others (a job not shown yet), and "*:*"
// parts every change.
"use strict";

(function () {
  const pending = new Set();
  const livePart = () => Array.from(document.querySelectorAll("[data-live]"));
  const outermost = () => livePart().filter((part) => !part.parentElement.closest("[data-live]"));

  function wants(part) {
    return part.dataset.live.split(" ").map((want) => want.split(":"));
  }

  async function refresh(part) {
    pending.delete(part);
    try {
      const answer = await fetch(part.dataset.src, { credentials: "same-origin" });
      const text = await answer.text();
      if (answer.status === 404 && part.dataset.swap === "outer") part.remove();
      else if (answer.ok && part.dataset.swap === "outer") part.outerHTML = text;
      else if (answer.ok) part.innerHTML = text;
    } catch (error) {
      // the stream's next change tries again
    }
  }

  function later(part) {
    if (!pending.has(part)) {
      pending.add(part);
      setTimeout(() => refresh(part), 100);
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
    stream.onopen = () => Promise.all(outermost().map(refresh)).then(() => { document.body.dataset.stream = "open"; });
  }

  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
