/** The page's entry: renders the app into #app. */
import { render } from 'preact';
import { App } from './App.js';

// The token in the address served once to set the session cookie; keep it out of the history.
if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);

const root = document.getElementById('app');
if (root) render(<App />, root);
