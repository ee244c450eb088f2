// Live workflow events over Server-Sent Events (the session cookie authenticates them).
// The server replays the timeline from the start, then streams new events, and ends the
// stream after a final status. A retried workflow has an earlier final status in its
// replay, so on a final status we ask the caller whether to keep listening.

const TYPES = ['status', 'phase', 'progress', 'file'];
export const FINAL = new Set(['completed', 'failed', 'cancelled']);

// onEvent({id, type, data}); onFinal(status) may return (a promise of) true to keep
// listening from the last event seen. Returns {close()}.
export function watchWorkflow(id, { onEvent, onFinal }) {
  let es = null;
  let lastId = 0;
  let closed = false;
  let retryTimer = null;
  let failures = 0;

  function open() {
    if (closed) return;
    const url = `/api/v1/workflows/${encodeURIComponent(id)}/events${lastId ? `?last_event_id=${lastId}` : ''}`;
    es = new EventSource(url);
    for (const type of TYPES) {
      es.addEventListener(type, (e) => {
        const eid = Number(e.lastEventId) || 0;
        if (eid && eid <= lastId) return;
        if (eid) lastId = eid;
        failures = 0;
        let data = {};
        try {
          data = JSON.parse(e.data);
        } catch { /* keep {} */ }
        onEvent?.({ id: eid, type, data });
        if (type === 'status' && FINAL.has(data.status)) {
          es.close();
          Promise.resolve(onFinal ? onFinal(data.status) : false).then((keep) => {
            if (keep && !closed) open();
          });
        }
      });
    }
    es.onerror = () => {
      // The browser reconnects by itself unless the server refused the stream.
      if (es.readyState === EventSource.CLOSED && !closed && failures < 5) {
        failures++;
        retryTimer = setTimeout(open, 2000 * failures);
      }
    };
  }

  open();
  return {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      es?.close();
    },
  };
}
