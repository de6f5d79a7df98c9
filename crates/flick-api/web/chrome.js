// Page furniture shared by the non-feed views.

import { h, iconButton } from './dom.js';
import { back } from './router.js';

/** The bar at the top of a page: back button, heading, optional actions. */
export function topBar(title, { backTo = '/', showBack = true, actions = [], headingId } = {}) {
  const heading = h('h1', { class: 'topbar-title', tabindex: '-1', id: headingId, text: title });
  return h('header', { class: 'topbar' },
    showBack ? iconButton('back', 'Back', { className: 'icon-btn topbar-back', onclick: () => back(backTo) }) : h('span', { class: 'topbar-spacer' }),
    heading,
    h('div', { class: 'topbar-actions' }, actions));
}

/** A scrolling page with a top bar. */
export function page(className, bar, ...content) {
  return h('div', { class: `page ${className}`.trim() }, bar, h('div', { class: 'page-body' }, content));
}
