// What #view shows: the page asked for last (one still loading when another is asked for
// is dropped), its heading focused. Drawing the page the hash names takes the routes, which
// app.js holds; it hands its `render` over at start, so pages that redraw need not import
// the routes that import them.

import { h } from './dom.js';
import { NeedKey, problem } from './api.js';

let generation = 0;
let drawHash = () => {};

/** Draws the page the hash names (app.js's `render`). */
export function render() {
  drawHash();
}

export function setRender(draw) {
  drawHash = draw;
}

export async function show(build) {
  const mine = ++generation;
  const view = document.getElementById('view');
  try {
    const content = await build();
    if (mine !== generation) return;
    view.replaceChildren(content);
  } catch (e) {
    if (mine !== generation || e instanceof NeedKey) return;
    view.replaceChildren(h('section', { class: 'panel' }, h('h1', { tabindex: -1 }, 'Could not load this page'), problem(e, render)));
  }
  const heading = view.querySelector('h1');
  if (heading) heading.focus();
}
