// Live updates over the gateway's WebSocket: the browser offers the token as a subprotocol
// ("bearer", <JWT>), since it cannot set headers; the organization goes as ?orgId=.
import {session} from './api.js';

export function subscribe(code, onMessage, onState) {
  let ws = null;
  let closed = false;
  let retry = 1000;
  const open = () => {
    const url = new URL('/api/experiments/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    if (session.org) url.searchParams.set('orgId', session.org);
    ws = new WebSocket(url, ['bearer', session.token]);
    ws.onopen = () => {
      retry = 1000;
      ws.send(JSON.stringify({type: 'subscribe', experimentCode: code}));
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === 'subscribed') onState('live');
      else if (msg.type === 'error') onState('error', msg.message);
      else onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (closed) return;
      onState('reconnecting', ev.code === 1008 ? 'token expired' : '');
      if (ev.code === 1008) return;  // a new token is needed: the page says so
      setTimeout(() => !closed && open(), retry);
      retry = Math.min(retry * 2, 30000);
    };
  };
  open();
  return () => {
    closed = true;
    if (ws) ws.close(1000);
  };
}
