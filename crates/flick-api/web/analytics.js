// Creator analytics for the owner of a profile: totals, an inline SVG chart
// of daily views (and likes) and a per-video table.

import { api, enc } from './api.js';
import { h, icon, fmtCount, spinner } from './dom.js';
import { svgEl } from './icons.js';

let chartSeq = 0;

function pct(r) {
  const v = Math.max(0, Math.min(1, Number(r) || 0));
  return `${Math.round(v * 100)}%`;
}

function parseDay(s) {
  const [y, m, d] = String(s).split('-').map(Number);
  return new Date(Date.UTC(y, (m || 1) - 1, d || 1));
}

function dayLabel(s) {
  return parseDay(s).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/** Fills days without activity with zeros so the x axis is true time. */
function continuous(daily) {
  const rows = [...daily].filter((d) => d && d.day).sort((a, b) => String(a.day).localeCompare(String(b.day)));
  if (rows.length < 2) return rows;
  const first = parseDay(rows[0].day);
  const last = parseDay(rows[rows.length - 1].day);
  const span = Math.round((last - first) / 86400000);
  if (span > 120) return rows;
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const out = [];
  for (let i = 0; i <= span; i++) {
    const d = new Date(first.getTime() + i * 86400000).toISOString().slice(0, 10);
    out.push(byDay.get(d) || { day: d, views: 0, likes: 0 });
  }
  return out;
}

function niceMax(v) {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function dailyChart(daily) {
  const rows = continuous(daily || []);
  const W = 320;
  const H = 150;
  const pad = { l: 30, r: 10, t: 12, b: 24 };
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const id = `chart-${++chartSeq}`;
  const totalViews = rows.reduce((s, r) => s + (Number(r.views) || 0), 0);
  const summary = rows.length
    ? `Daily views from ${dayLabel(rows[0].day)} to ${dayLabel(rows[rows.length - 1].day)}: ${totalViews} views in total, at most ${Math.max(...rows.map((r) => Number(r.views) || 0))} in a day.`
    : 'No views yet.';

  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': `${id}-t ${id}-d` },
    svgEl('title', { id: `${id}-t` }, 'Daily views'),
    svgEl('desc', { id: `${id}-d` }, summary));
  const defs = svgEl('defs', {},
    svgEl('linearGradient', { id: `${id}-g`, x1: 0, y1: 0, x2: 0, y2: 1 },
      svgEl('stop', { offset: '0%', class: 'chart-stop-top' }),
      svgEl('stop', { offset: '100%', class: 'chart-stop-bottom' })));
  svg.append(defs);

  const max = niceMax(Math.max(1, ...rows.map((r) => Math.max(Number(r.views) || 0, Number(r.likes) || 0))));
  for (let i = 0; i <= 2; i++) {
    const y = pad.t + (ih * i) / 2;
    svg.append(svgEl('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: 'chart-grid' }));
    svg.append(svgEl('text', { x: pad.l - 6, y: y + 3.5, class: 'chart-label', 'text-anchor': 'end' }, fmtCount(Math.round(max * (1 - i / 2)))));
  }
  if (!rows.length) {
    svg.append(svgEl('text', { x: W / 2, y: H / 2, class: 'chart-empty', 'text-anchor': 'middle' }, 'No views yet'));
    return svg;
  }
  const x = (i) => pad.l + (rows.length === 1 ? iw / 2 : (iw * i) / (rows.length - 1));
  const y = (v) => pad.t + ih - (ih * (Number(v) || 0)) / max;
  const line = (key) => rows.map((r, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(r[key]).toFixed(1)}`).join(' ');

  if (rows.length > 1) {
    svg.append(svgEl('path', { d: `${line('views')} L${x(rows.length - 1).toFixed(1)},${pad.t + ih} L${x(0).toFixed(1)},${pad.t + ih} Z`, fill: `url(#${id}-g)`, stroke: 'none' }));
    svg.append(svgEl('path', { d: line('likes'), class: 'chart-line chart-line-likes' }));
    svg.append(svgEl('path', { d: line('views'), class: 'chart-line' }));
  }
  rows.forEach((r, i) => {
    if (rows.length > 40 && i !== rows.length - 1) return;
    svg.append(svgEl('circle', { cx: x(i), cy: y(r.views), r: rows.length > 14 ? 2 : 3, class: 'chart-dot' },
      svgEl('title', {}, `${dayLabel(r.day)}: ${r.views || 0} views, ${r.likes || 0} likes`)));
  });
  svg.append(svgEl('text', { x: pad.l, y: H - 6, class: 'chart-label', 'text-anchor': rows.length === 1 ? 'middle' : 'start', ...(rows.length === 1 ? { x: x(0) } : {}) }, dayLabel(rows[0].day)));
  if (rows.length > 1) svg.append(svgEl('text', { x: W - pad.r, y: H - 6, class: 'chart-label', 'text-anchor': 'end' }, dayLabel(rows[rows.length - 1].day)));
  return svg;
}

export function analyticsPanel() {
  const el = h('div', { class: 'analytics' }, spinner('Loading analytics'));
  let dead = false;

  async function load() {
    el.replaceChildren(spinner('Loading analytics'));
    let data;
    try {
      data = await api('/me/analytics');
    } catch (e) {
      if (dead) return;
      el.replaceChildren(h('div', { class: 'inline-error', role: 'alert' },
        h('span', { text: e.message }),
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', text: 'Retry', onclick: load })));
      return;
    }
    if (dead) return;
    const videos = Array.isArray(data && data.videos) ? data.videos : [];
    const daily = Array.isArray(data && data.daily) ? data.daily : [];
    const views = videos.reduce((s, v) => s + (Number(v.views) || 0), 0);
    const likes = videos.reduce((s, v) => s + (Number(v.likes) || 0), 0);
    const comments = videos.reduce((s, v) => s + (Number(v.comments) || 0), 0);
    const weighted = views ? videos.reduce((s, v) => s + (Number(v.avg_watch_ratio) || 0) * (Number(v.views) || 0), 0) / views : 0;

    const card = (label, value, iconName) => h('div', { class: 'stat-card' },
      h('span', { class: 'stat-card-icon' }, icon(iconName, { size: 18 })),
      h('span', { class: 'stat-card-value', text: value }),
      h('span', { class: 'stat-card-label', text: label }));

    const table = h('table', { class: 'an-table' },
      h('caption', { class: 'visually-hidden', text: 'Views, average watch and likes per video' }),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col', text: 'Video' }),
        h('th', { scope: 'col', class: 'num', text: 'Views' }),
        h('th', { scope: 'col', class: 'num', text: 'Avg. watch' }),
        h('th', { scope: 'col', class: 'num', text: 'Likes' }))),
      h('tbody', {}, [...videos].sort((a, b) => (b.views || 0) - (a.views || 0)).map((v) => h('tr', { dataset: { videoId: String(v.id) } },
        h('td', {}, h('a', { class: 'an-video', href: `#/v/${enc(v.id)}` },
          v.poster_url ? h('img', { src: v.poster_url, alt: '', width: '36', height: '64', loading: 'lazy' }) : h('span', { class: 'an-thumb', 'aria-hidden': 'true' }),
          h('span', { class: 'an-caption', text: (v.caption || '').trim() || 'Untitled video' }))),
        h('td', { class: 'num an-views', text: fmtCount(v.views || 0) }),
        h('td', { class: 'num' },
          h('span', { class: 'an-ratio', text: pct(v.avg_watch_ratio) }),
          h('span', { class: 'meter', 'aria-hidden': 'true' }, h('span', { style: { width: pct(v.avg_watch_ratio) } }))),
        h('td', { class: 'num', text: fmtCount(v.likes || 0) })))));

    el.replaceChildren(
      h('div', { class: 'stat-cards' },
        card('Views', fmtCount(views), 'views'),
        card('Avg. watch', pct(weighted), 'chart'),
        card('Likes', fmtCount(likes), 'heart'),
        card('Comments', fmtCount(comments), 'comment')),
      h('section', { class: 'chart-card', 'aria-label': 'Daily views chart' },
        h('div', { class: 'chart-head' },
          h('h3', { text: 'Views over time' }),
          h('span', { class: 'legend' },
            h('span', { class: 'legend-dot views' }), 'Views',
            h('span', { class: 'legend-dot likes' }), 'Likes')),
        dailyChart(daily)),
      videos.length ? table : h('p', { class: 'muted center', text: 'Upload a video to see how it performs.' }));
  }
  load();
  return { el, destroy: () => { dead = true; } };
}
