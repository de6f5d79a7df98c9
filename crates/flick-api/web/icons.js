// Inline SVG icons, built with DOM calls (no markup strings). Each is drawn
// on a 24×24 grid; strokes use currentColor so CSS colours them.

const SVG_NS = 'http://www.w3.org/2000/svg';

// [element, attributes] lists. `fill: true` marks a filled shape.
const ICONS = {
  home: [['path', { d: 'M3.5 10.2 12 3.5l8.5 6.7V19a1.5 1.5 0 0 1-1.5 1.5h-4.2v-6h-5.6v6H5A1.5 1.5 0 0 1 3.5 19z' }]],
  homeFilled: [['path', { d: 'M3.5 10.2 12 3.5l8.5 6.7V19a1.5 1.5 0 0 1-1.5 1.5h-4.2v-6h-5.6v6H5A1.5 1.5 0 0 1 3.5 19z', fill: true }]],
  following: [
    ['circle', { cx: 9, cy: 8, r: 3.5 }],
    ['path', { d: 'M2.5 20c.8-3.6 3.3-5.5 6.5-5.5s5.7 1.9 6.5 5.5' }],
    ['circle', { cx: 17, cy: 9, r: 2.5 }],
    ['path', { d: 'M17.2 14.6c2.2.3 3.7 1.9 4.3 4.4' }],
  ],
  plus: [['path', { d: 'M12 5v14M5 12h14' }]],
  user: [
    ['circle', { cx: 12, cy: 8, r: 4 }],
    ['path', { d: 'M4 21c1-4.2 4.2-6.5 8-6.5s7 2.3 8 6.5' }],
  ],
  heart: [['path', { d: 'M12 20.3s-7.4-4.5-9.1-9.3C1.8 7.8 3.9 4.6 7.2 4.6c2 0 3.6 1.1 4.8 2.8 1.2-1.7 2.8-2.8 4.8-2.8 3.3 0 5.4 3.2 4.3 6.4-1.7 4.8-9.1 9.3-9.1 9.3z' }]],
  heartFilled: [['path', { d: 'M12 20.3s-7.4-4.5-9.1-9.3C1.8 7.8 3.9 4.6 7.2 4.6c2 0 3.6 1.1 4.8 2.8 1.2-1.7 2.8-2.8 4.8-2.8 3.3 0 5.4 3.2 4.3 6.4-1.7 4.8-9.1 9.3-9.1 9.3z', fill: true }]],
  comment: [['path', { d: 'M20.5 11.5c0 4.1-3.8 7.4-8.5 7.4-1.2 0-2.4-.2-3.4-.6L3.8 19.8l1.4-3.6c-1.1-1.3-1.7-2.9-1.7-4.7 0-4.1 3.8-7.4 8.5-7.4s8.5 3.3 8.5 7.4z', fill: true }]],
  share: [['path', { d: 'M13.5 4.5 21 11.2l-7.5 6.8v-3.9c-4.9 0-8.2 1.4-10.5 4.7.9-4.9 3.8-9.2 10.5-10.1z', fill: true }]],
  more: [
    ['circle', { cx: 5, cy: 12, r: 1.8, fill: true }],
    ['circle', { cx: 12, cy: 12, r: 1.8, fill: true }],
    ['circle', { cx: 19, cy: 12, r: 1.8, fill: true }],
  ],
  music: [
    ['path', { d: 'M9 17.5V5.5l11-2v12' }],
    ['circle', { cx: 6.5, cy: 17.5, r: 2.5 }],
    ['circle', { cx: 17.5, cy: 15.5, r: 2.5 }],
  ],
  mute: [
    ['path', { d: 'M4 9.2h3.6L12.5 5v14l-4.9-4.2H4z', fill: true }],
    ['path', { d: 'M16.5 9.5l5 5M21.5 9.5l-5 5' }],
  ],
  sound: [
    ['path', { d: 'M4 9.2h3.6L12.5 5v14l-4.9-4.2H4z', fill: true }],
    ['path', { d: 'M16 8.8a4.6 4.6 0 0 1 0 6.4M18.6 6.2a8.2 8.2 0 0 1 0 11.6' }],
  ],
  play: [['path', { d: 'M7.5 4.8v14.4c0 .8.9 1.3 1.6.9l11.3-7.2a1 1 0 0 0 0-1.8L9.1 3.9c-.7-.4-1.6.1-1.6.9z', fill: true }]],
  pause: [
    ['rect', { x: 6, y: 4.5, width: 4, height: 15, rx: 1.2, fill: true }],
    ['rect', { x: 14, y: 4.5, width: 4, height: 15, rx: 1.2, fill: true }],
  ],
  search: [
    ['circle', { cx: 10.8, cy: 10.8, r: 6.5 }],
    ['path', { d: 'M20 20l-4.4-4.4' }],
  ],
  settings: [
    ['path', { d: 'M4 7h9M17 7h3M4 17h3M11 17h9' }],
    ['circle', { cx: 15, cy: 7, r: 2 }],
    ['circle', { cx: 9, cy: 17, r: 2 }],
  ],
  up: [['path', { d: 'M6 15l6-6 6 6' }]],
  down: [['path', { d: 'M6 9l6 6 6-6' }]],
  back: [['path', { d: 'M15 5l-7 7 7 7' }]],
  close: [['path', { d: 'M6 6l12 12M18 6 6 18' }]],
  info: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M12 11v5.5M12 7.6v.2' }],
  ],
  ban: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M5.7 5.7l12.6 12.6' }],
  ],
  trash: [['path', { d: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3' }]],
  download: [['path', { d: 'M12 4v11M7 10l5 5 5-5M5 20h14' }]],
  refresh: [['path', { d: 'M19.5 12a7.5 7.5 0 1 1-2.2-5.3M19.5 4v4h-4' }]],
  logout: [['path', { d: 'M14 4h4.5A1.5 1.5 0 0 1 20 5.5v13a1.5 1.5 0 0 1-1.5 1.5H14M10 8l-4 4 4 4M6 12h10' }]],
  link: [['path', { d: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1' }]],
  upload: [['path', { d: 'M12 16V4M7 9l5-5 5 5M5 20h14' }]],
  chart: [['path', { d: 'M4 4v16h16M8 15l3.5-4.5 3 3L20 7' }]],
  grid: [
    ['rect', { x: 4, y: 4, width: 7, height: 7, rx: 1.5 }],
    ['rect', { x: 13, y: 4, width: 7, height: 7, rx: 1.5 }],
    ['rect', { x: 4, y: 13, width: 7, height: 7, rx: 1.5 }],
    ['rect', { x: 13, y: 13, width: 7, height: 7, rx: 1.5 }],
  ],
  globe: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M3 12h18M12 3c2.4 2.6 3.7 5.6 3.7 9s-1.3 6.4-3.7 9c-2.4-2.6-3.7-5.6-3.7-9S9.6 5.6 12 3z' }],
  ],
  edit: [['path', { d: 'M4 20h4.2L19.5 8.7a2 2 0 0 0 0-2.8l-1.4-1.4a2 2 0 0 0-2.8 0L4 15.8z' }]],
  check: [['path', { d: 'M5 12.5l4.5 4.5L19 7.5' }]],
  hash: [['path', { d: 'M5 9h14M5 15h14M10.5 4 8.5 20M15.5 4l-2 16' }]],
  views: [['path', { d: 'M8 5.5v13l10.5-6.5z' }]],
  alert: [
    ['path', { d: 'M12 3.5 2.5 20h19z' }],
    ['path', { d: 'M12 10v4.5M12 17.3v.2' }],
  ],
  flag: [['path', { d: 'M6 21V4M6 4h11l-2 4 2 4H6' }]],
  shield: [['path', { d: 'M12 3l7 3v5c0 4.5-3 8.3-7 10-4-1.7-7-5.5-7-10V6z' }]],
  spark: [['path', { d: 'M12 3l1.9 5.6L19.5 10l-5.6 1.9L12 17.5l-1.9-5.6L4.5 10l5.6-1.4z', fill: true }]],
};

/** An `<svg>` icon, hidden from assistive technology (its button carries the name). */
export function icon(name, { size = 24, className = '' } = {}) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon ${className}`.trim());
  for (const [tag, attrs] of ICONS[name] || []) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'fill') continue;
      el.setAttribute(k, String(v));
    }
    if (attrs.fill) {
      el.setAttribute('fill', 'currentColor');
      el.setAttribute('stroke', 'none');
    } else {
      el.setAttribute('fill', 'none');
      el.setAttribute('stroke', 'currentColor');
      el.setAttribute('stroke-width', '2');
      el.setAttribute('stroke-linecap', 'round');
      el.setAttribute('stroke-linejoin', 'round');
    }
    svg.append(el);
  }
  return svg;
}

export function svgEl(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}
