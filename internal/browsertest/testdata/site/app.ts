// The test site's app: an SPA (history API routes), fetch calls through the
// SDK's fetch wrapper, a Redux store with RTK Query and the SDK's middleware,
// a WebSocket through the SDK's wrapper, a late promotion (a layout shift), a
// slow click handler (INP), a thrown error and a rejected promise. The SDK
// itself comes from the script tag (Alidade's /sdk.js); the helpers are its
// ESM sources, bundled in here as an app would bundle @alidade/sdk.
//
// window.site reports progress to the test, which waits on it.
import { configureStore, createSlice, type PayloadAction } from '@reduxjs/toolkit';
import { createApi, fetchBaseQuery } from '@reduxjs/toolkit/query';
import { instrumentFetch } from '../../../../sdk/js/src/fetch';
import { alidadeMiddleware } from '../../../../sdk/js/src/redux';
import { wrapWebSocket } from '../../../../sdk/js/src/websocket';

const site = ((window as any).site = {
  fetches: 0,
  rtk: 0,
  opens: 0,
  closes: [] as number[],
  messages: 0,
  shifted: false,
  routes: [] as string[],
  sent: 0,
  graded: 0,
});

// RTK Query gets the unwrapped fetch, so that its calls are recorded once,
// by the middleware; everything else goes through the SDK's fetch wrapper.
const rawFetch = window.fetch.bind(window);
instrumentFetch();

const api = createApi({
  reducerPath: 'api',
  baseQuery: fetchBaseQuery({ baseUrl: '/api/', fetchFn: rawFetch }),
  endpoints: (b) => ({
    course: b.query<{ id: number; title: string }, number>({ query: (id) => `courses/${id}` }),
  }),
});

const chat = createSlice({
  name: 'chat',
  initialState: { messages: [] as string[] },
  reducers: {
    send(state, a: PayloadAction<string>) {
      // A reducer with real work to time (ui_actions): ~25 ms.
      const until = performance.now() + 25;
      while (performance.now() < until) {}
      state.messages.push(a.payload);
    },
  },
});

const router = createSlice({
  name: 'router',
  initialState: { path: '' },
  reducers: {
    navigated(state, a: PayloadAction<string>) {
      state.path = a.payload;
    },
  },
});

const grade = createSlice({
  name: 'grade',
  initialState: { submitted: 0 },
  reducers: {
    submitted(state) {
      state.submitted++;
    },
  },
});

const store = configureStore({
  reducer: { [api.reducerPath]: api.reducer, chat: chat.reducer, router: router.reducer, grade: grade.reducer },
  middleware: (gdm) => gdm().concat(api.middleware, alidadeMiddleware()),
});
(window as any).store = store;

// Routes.
const views: Record<string, string> = {
  '/': '<h2>Home</h2><p>Your courses.</p>',
  '/lessons/7': '<h2>Lesson 7: mitosis</h2><p>Prophase, metaphase, anaphase, telophase.</p>',
  '/chat': '<h2>Chat with your tutor</h2><p>Ask anything about the lesson.</p>',
};
const $ = (id: string) => document.getElementById(id)!;

function render() {
  $('view').innerHTML = views[location.pathname] || '<h2>Not found</h2>';
  store.dispatch(router.actions.navigated(location.pathname));
  site.routes.push(location.pathname);
}

document.addEventListener('click', (e) => {
  const a = (e.target as Element).closest('a[data-route]');
  if (!a) return;
  e.preventDefault();
  history.pushState({}, '', a.getAttribute('href'));
  render();
});
addEventListener('popstate', render);
render();

// API calls through the fetch wrapper: a slow success and a 404 with a
// query the SDK must not send.
async function load() {
  const a = await fetch('/api/lessons/7');
  await a.json();
  const b = await fetch('/api/lessons/8/notes?token=s3cr3t');
  await b.text();
  site.fetches = 2;
}
load();

// RTK Query: a slow success and a 404.
async function courses() {
  await store.dispatch(api.endpoints.course.initiate(3));
  await store.dispatch(api.endpoints.course.initiate(404));
  site.rtk = 2;
}
courses();

// The chat socket: reconnects after an abnormal close.
const ChatSocket = wrapWebSocket(WebSocket, { channel: 'chat' });
let ws: WebSocket;
function connect() {
  ws = new ChatSocket(`ws://${location.host}/ws`);
  ws.addEventListener('open', () => {
    site.opens++;
    ws.send('hello');
  });
  ws.addEventListener('message', () => site.messages++);
  ws.addEventListener('close', (e) => {
    site.closes.push(e.code);
    e.code != 1000 && setTimeout(connect, 100);
  });
}
connect();

// A promotion that arrives late and pushes the lesson down (CLS), after the
// first paint.
requestAnimationFrame(() =>
  setTimeout(() => {
    const slot = $('slot');
    slot.className = 'promo';
    slot.textContent = 'New: a live session on Friday';
    site.shifted = true;
  }, 300),
);

// A slow click handler: ~150 ms of work (INP).
$('busy').addEventListener('click', function gradeAnswers() {
  const until = performance.now() + 150;
  while (performance.now() < until) {}
  store.dispatch(grade.actions.submitted());
  site.graded++;
});

// The chat send button also carries data-alidade-event (a custom event).
$('send').addEventListener('click', async function sendMessage() {
  store.dispatch(chat.actions.send('What is a centromere?'));
  ws.send('What is a centromere?');
  const r = await fetch('/api/chat', { method: 'POST', body: JSON.stringify({ text: 'What is a centromere?' }) });
  await r.text();
  site.sent++;
});

$('throw').addEventListener('click', function showLessonTitle() {
  const lesson: any = null;
  $('view').textContent = lesson.title;
});

$('reject').addEventListener('click', function submitGrade() {
  Promise.reject(new Error('grade service did not answer'));
});

// The server closes the TCP connection without a close frame: code 1006.
$('drop').addEventListener('click', () => ws.send('drop'));
