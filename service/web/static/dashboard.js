// Shepherd's dashboard: one event stream per page; each change fetches again the parts of the page that
// listen to it (data-live="job:ID task:* ..."), and forms with data-confirm ask first.
"use strict";

(function () {
  const parts = Array.from(document.querySelectorAll("[data-live]"));
  const pending = new Set();

  function concerns(part, change) {
    if (change.all) return true;
    return part.dataset.live.split(" ").some((want) => {
      const [kind, id] = want.split(":");
      return change[kind] !== undefined && (id === "*" || change[kind] === id);
    });
  }

  async function refresh(part) {
    pending.delete(part);
    try {
      const answer = await fetch(part.dataset.src, { credentials: "same-origin" });
      if (answer.ok) part.innerHTML = await answer.text();
    } catch (error) {
      // the stream's next change tries again
    }
  }

  function changed(change) {
    for (const part of parts) {
      if (!pending.has(part) && concerns(part, change)) {
        pending.add(part);
        setTimeout(() => refresh(part), 100);
      }
    }
  }

  if (parts.length && window.EventSource) {
    const stream = new EventSource("/events");
    stream.onmessage = (message) => changed(JSON.parse(message.data));
    // Whatever changed before the stream opened (or while it was away) is fetched once it is open.
    stream.onopen = () => Promise.all(parts.map(refresh)).then(() => { document.body.dataset.stream = "open"; });
  }

  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
