// Runs the seed's AnalyticsService verbatim (sdk/js/test/fixtures/seed.ts)
// against the SDK's window.zaraz. The seed reads a global `store`: here a
// real Redux store holding auth.user.id and session.id.
import { configureStore, createSlice } from '@reduxjs/toolkit';
import { AnalyticsService } from '../../../../sdk/js/test/fixtures/seed';

const auth = createSlice({ name: 'auth', initialState: { user: { id: 'u-42' } as { id: string } | null }, reducers: {} });
const session = createSlice({ name: 'session', initialState: { id: 's-7f3a' }, reducers: {} });
(globalThis as any).store = configureStore({ reducer: { auth: auth.reducer, session: session.reducer } });

const analytics = new AnalyticsService();
(window as any).analytics = analytics;
// The app reports the landing page itself, as the seed's router would: the
// SDK counted it already, so it must count once.
analytics.trackPageView(location.pathname);
(window as any).seedReady = true;
