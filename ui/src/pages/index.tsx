// The pages after the overview, in the navigation's order. Each page owns
// the paths under its own ("/errors/12" is the errors page's).
import type { Page } from '../main';
import { AI } from './ai';
import { Alerts } from './alerts';
import { Backend } from './backend';
import { Errors } from './errors';
import { Explore } from './explore';
import { Frontend } from './frontend';
import { Performance } from './performance';
import { Settings } from './settings';
import { Tail } from './tail';

export const pages: Page[] = [
  { path: '/backend', title: 'Backend', render: (v) => <Backend view={v} /> },
  { path: '/ai', title: 'AI', render: (v) => <AI view={v} /> },
  { path: '/frontend', title: 'Frontend', render: (v) => <Frontend view={v} /> },
  { path: '/performance', title: 'Performance', render: (v) => <Performance view={v} /> },
  { path: '/errors', title: 'Errors', render: (v) => <Errors view={v} /> },
  { path: '/explore', title: 'Explore', render: (v) => <Explore view={v} /> },
  { path: '/tail', title: 'Live tail', render: (v) => <Tail view={v} /> },
  { path: '/alerts', title: 'Alerts', render: (v) => <Alerts view={v} /> },
  { path: '/settings', title: 'Settings', render: (v) => <Settings view={v} /> },
];
