// Shared client state: one object per video (so a like shows everywhere),
// who the user follows, and the list a grid was opened from.

const videos = new Map();
export const follows = new Map(); // handle → boolean

/** Records a follow or unfollow made here and tells the app. */
export function setFollowing(handle, on) {
  const was = follows.get(handle);
  follows.set(handle, on);
  if (was !== on) window.dispatchEvent(new CustomEvent('flick:follows-changed', { detail: { handle, on } }));
}
let listContext = null;

/** Returns the canonical object for this video, merged with the fresh copy. */
export function canon(v) {
  if (!v || v.id === undefined || v.id === null) return v;
  const key = String(v.id);
  const cur = videos.get(key);
  if (cur) {
    const keepReasons = cur.reasons && !v.reasons;
    const reasons = cur.reasons;
    Object.assign(cur, v);
    if (keepReasons) cur.reasons = reasons;
    return cur;
  }
  videos.set(key, v);
  return v;
}

export function cachedVideo(id) {
  return videos.get(String(id)) || null;
}

export function forgetVideo(id) {
  videos.delete(String(id));
  if (listContext) listContext.items = listContext.items.filter((v) => String(v.id) !== String(id));
}

/** Remembers the grid a video was opened from, so the player can swipe through it. */
export function setListContext(ctx) {
  listContext = ctx;
}

export function listContextFor(id) {
  if (listContext && listContext.items.some((v) => String(v.id) === String(id))) return listContext;
  return null;
}

export function resetStore() {
  videos.clear();
  follows.clear();
  listContext = null;
}
