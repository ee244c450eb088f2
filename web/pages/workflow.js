// One story: progress and phases (live), the story text, each scene with its picture and
// narration, the files with metadata (each with download and delete), the event timeline, cost,
// and cancel/retry/delete.
import { del, get, post } from '../api.js';
import { FINAL, watchWorkflow } from '../live.js';
import { storyCalls } from './calls.js';
import {
  clear, confirmDialog, durationBetween, errorBox, fmtBytes, fmtDate, fmtMs, fmtUsd, h, isActive,
  progressBar, setProgress, statusBadge, statusLabel, toast,
} from '../ui.js';

const PHASE_LABELS = {
  story: 'Writing the story',
  scenes: 'Planning scenes',
  images: 'Drawing pictures',
  narration: 'Recording narration',
  assemble: 'Assembling the storyboard',
};

function phaseLabel(p) {
  return PHASE_LABELS[p] || (p ? p.charAt(0).toUpperCase() + p.slice(1) : '');
}

export async function render(main, ctx) {
  const id = ctx.params[0];
  let wf;
  try {
    wf = await get(`/api/v1/workflows/${id}`);
  } catch (e) {
    if (e.status === 404) {
      main.append(h('div', { class: 'empty' },
        h('h1', { class: 'empty-title' }, 'Story not found'),
        h('p', null, 'It may have been deleted, or it belongs to someone else.'),
        h('a', { class: 'btn btn-primary', href: '#/' }, 'Back to your stories')));
      return;
    }
    throw e;
  }
  if (!ctx.isCurrent()) return;

  const view = buildView(ctx);
  main.append(view.root);
  view.update(wf);

  // Live: events drive the progress bar and timeline; details are re-read (debounced)
  // when something durable changed (a phase finished, a file arrived, the status moved).
  let refreshTimer = null;
  let stopped = false;
  const refresh = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      try {
        const fresh = await get(`/api/v1/workflows/${id}`);
        if (!stopped) view.update(fresh);
      } catch (e) {
        if (e.status === 404 && !stopped) ctx.navigate('/');
      }
    }, 250);
  };
  const handlers = {
    onEvent(ev) {
      view.addEvent(ev);
      if (ev.type === 'progress') view.setLiveProgress(ev.data.progress, ev.data.video);
      if (ev.type === 'phase') view.setLivePhase(ev.data);
      if (ev.type !== 'progress') refresh();
    },
    async onFinal() {
      try {
        const fresh = await get(`/api/v1/workflows/${id}`);
        if (stopped) return false;
        view.update(fresh);
        return isActive(fresh.status);
      } catch {
        return false;
      }
    },
  };
  let watcher = watchWorkflow(id, handlers);
  view.onAction = (fresh, kind) => {
    view.update(fresh);
    if (kind === 'retry') {
      // The old stream ended at the final status; listen again for the new attempt.
      watcher.close();
      watcher = watchWorkflow(id, handlers);
    }
  };
  return () => {
    stopped = true;
    clearTimeout(refreshTimer);
    watcher.close();
  };
}

function buildView(ctx) {
  const v = { wf: null, events: new Map(), scenes: new Map(), onAction: null };

  const title = h('h1', { class: 'story-title' });
  const badgeSlot = h('span', { id: 'wf-status' });
  const meta = h('p', { class: 'muted' });
  const actions = h('div', { class: 'page-actions' });
  const bar = progressBar(0, 'Story progress');
  const progressText = h('span', { class: 'progress-text', 'aria-live': 'polite' });
  const phases = h('ol', { class: 'phases', 'aria-label': 'Phases' });
  const errorSlot = h('div');
  const videoSlot = h('div');
  const stats = h('dl', { class: 'stats' });
  const story = h('div', { class: 'story-text' });
  const promptEl = h('blockquote', { class: 'prompt' });
  const sceneGrid = h('div', { class: 'scene-grid' });
  const scenesEmpty = h('p', { class: 'muted' });
  const filesBody = h('div');
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Event timeline' });
  const lightbox = buildLightbox();
  const calls = storyCalls();

  v.root = h('article', { class: 'workflow' },
    h('a', { href: '#/', class: 'back' }, '← All stories'),
    h('div', { class: 'page-head' },
      h('div', null, h('div', { class: 'title-row' }, title, badgeSlot), meta),
      actions),
    h('section', { class: 'card progress-card', 'aria-label': 'Progress' },
      h('div', { class: 'progress-row' }, bar, progressText),
      phases),
    errorSlot,
    videoSlot,
    stats,
    h('div', { class: 'two-col' },
      h('section', { class: 'card', 'aria-labelledby': 'story-h' },
        h('h2', { id: 'story-h' }, 'Story'), promptEl, story),
      h('section', { class: 'card', 'aria-labelledby': 'timeline-h' },
        h('h2', { id: 'timeline-h' }, 'Timeline'), timeline)),
    h('section', { 'aria-labelledby': 'scenes-h', class: 'section' },
      h('h2', { id: 'scenes-h' }, 'Scenes'), scenesEmpty, sceneGrid),
    h('section', { class: 'card', 'aria-labelledby': 'files-h' },
      h('h2', { id: 'files-h' }, 'Files'), filesBody),
    calls.el,
    lightbox.el);

  async function act(kind) {
    const id = v.wf.id;
    try {
      if (kind === 'delete') {
        const ok = await confirmDialog({
          title: 'Delete this story?',
          text: 'The story, its scenes and all of its files are removed for good.',
          confirm: 'Delete story',
          danger: true,
        });
        if (!ok) return;
        await del(`/api/v1/workflows/${id}`);
        toast('Story deleted.', 'success');
        ctx.navigate('/');
        return;
      }
      const fresh = await post(`/api/v1/workflows/${id}/${kind}`);
      toast(kind === 'cancel' ? 'Cancelling…' : 'Retrying from the step that stopped.', 'success');
      v.onAction?.(fresh, kind);
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  function renderActions(wf) {
    clear(actions);
    if (isActive(wf.status)) {
      actions.append(h('button', { type: 'button', class: 'btn', onclick: () => act('cancel'),
        disabled: wf.cancel_requested || undefined }, wf.cancel_requested ? 'Cancelling…' : 'Cancel'));
    }
    if (wf.status === 'failed' || wf.status === 'cancelled') {
      actions.append(h('button', { type: 'button', class: 'btn btn-primary', onclick: () => act('retry') }, 'Retry'));
    }
    if (!isActive(wf.status)) {
      actions.append(h('button', { type: 'button', class: 'btn btn-danger-ghost', onclick: () => act('delete') }, 'Delete'));
    }
    const storyboard = (wf.files || []).find((f) => /storyboard\.html$/.test(f.name || f.path));
    if (storyboard) {
      actions.prepend(h('a', { class: 'btn', href: storyboard.url, target: '_blank', rel: 'noopener' }, 'Open storyboard'));
    }
  }

  function renderPhases(wf) {
    clear(phases);
    for (const p of wf.phases || []) {
      const dur = durationBetween(p.started_at, p.finished_at);
      const li = h('li', { class: `phase phase-${p.status}`, dataset: { phase: p.name } },
        h('span', { class: 'phase-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'phase-name' }, phaseLabel(p.name)),
        h('span', { class: 'phase-status' },
          statusLabel(p.status) + (dur !== null ? ` · ${fmtMs(dur)}` : '') + (p.attempts > 1 ? ` · ${p.attempts} tries` : '')));
      if (p.error) li.title = p.error;
      phases.append(li);
    }
  }

  function progressLabel(wf, progress) {
    const pct = `${Math.round((Number(progress) || 0) * 100)}%`;
    if (wf.status === 'running' && wf.phase) return `${pct} · ${phaseLabel(wf.phase)}`;
    if (wf.status === 'queued') return `${pct} · Waiting to start`;
    return `${pct} · ${statusLabel(wf.status)}`;
  }

  function renderStats(wf) {
    clear(stats);
    const run = durationBetween(wf.started_at, wf.finished_at);
    const items = [
      ['Cost', fmtUsd(wf.cost_usd) + (wf.cost_unpriced ? ' (some calls unpriced)' : '')],
      ['Scenes', String((wf.scenes || []).length || (wf.options && wf.options.scenes) || 0)],
      ['Files', String((wf.files || []).length)],
      ['Created', fmtDate(wf.created_at)],
      ['Run time', run !== null ? fmtMs(run) : isActive(wf.status) ? 'In progress' : '—'],
    ];
    if (wf.options && wf.options.style) items.push(['Style', wf.options.style]);
    for (const [k, val] of items) {
      stats.append(h('div', { class: 'stat' }, h('dt', null, k), h('dd', { dataset: { stat: k.toLowerCase() } }, val)));
    }
  }

  function renderStory(wf) {
    promptEl.textContent = wf.prompt || '';
    clear(story);
    if (!wf.story) {
      story.append(h('p', { class: 'muted' }, isActive(wf.status) ? 'The story appears here once it is written.' : 'No story text was produced.'));
      return;
    }
    for (const para of String(wf.story).split(/\n\s*\n/)) {
      if (para.trim()) story.append(h('p', null, para.trim()));
    }
  }

  function sceneCard(s) {
    const img = s.image
      ? h('button', { type: 'button', class: 'scene-img-btn', 'aria-label': `Enlarge the picture for scene ${s.number}`,
          onclick: () => lightbox.show(s) },
        h('img', { src: s.image.url, alt: s.image_prompt || s.description || `Scene ${s.number}`, loading: 'lazy',
          width: '1280', height: '720', class: 'scene-img' }))
      : h('div', { class: 'scene-img placeholder', 'aria-hidden': 'true' }, 'Picture on its way…');
    const audio = s.audio
      ? h('audio', { controls: true, preload: 'metadata', src: s.audio.url, class: 'scene-audio',
          'aria-label': `Narration for scene ${s.number}` })
      : null;
    return h('article', { class: 'scene card', dataset: { scene: String(s.number) } },
      img,
      h('div', { class: 'scene-body' },
        h('h3', null, h('span', { class: 'scene-num' }, `Scene ${s.number}`), s.title || ''),
        s.description ? h('p', null, s.description) : null,
        s.narration ? h('p', { class: 'narration' }, h('span', { class: 'sr-only' }, 'Narration: '), s.narration) : null,
        audio));
  }

  function renderScenes(wf) {
    const list = wf.scenes || [];
    scenesEmpty.textContent = list.length ? '' :
      isActive(wf.status) ? 'Scenes appear here as soon as they are planned.' : 'This story has no scenes.';
    scenesEmpty.hidden = list.length > 0;
    const seen = new Set();
    list.forEach((s, i) => {
      const key = JSON.stringify([s.title, s.description, s.image && s.image.id, s.audio && s.audio.id]);
      const have = v.scenes.get(s.number);
      seen.add(s.number);
      if (have && have.key === key) return;
      const card = sceneCard(s);
      if (have) have.el.replaceWith(card);
      else sceneGrid.insertBefore(card, sceneGrid.children[i] || null);
      v.scenes.set(s.number, { key, el: card });
    });
    for (const [n, entry] of v.scenes) {
      if (!seen.has(n)) {
        entry.el.remove();
        v.scenes.delete(n);
      }
    }
  }

  function metadataList(meta) {
    const rows = [];
    const walk = (obj, prefix) => {
      for (const [k, val] of Object.entries(obj || {})) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (val && typeof val === 'object' && !Array.isArray(val)) walk(val, key);
        else rows.push([key.replaceAll('_', ' '), Array.isArray(val) ? val.join(', ') : String(val)]);
      }
    };
    walk(meta, '');
    if (!rows.length) return h('span', { class: 'muted' }, 'No metadata');
    return h('details', null, h('summary', null, `${rows.length} detail${rows.length === 1 ? '' : 's'}`),
      h('dl', { class: 'meta' }, rows.map(([k, val]) => [h('dt', null, k), h('dd', null, val)])));
  }

  // The narrated video (story.mp4 with its subtitles and poster), once the assemble phase
  // has tracked it. Rebuilt only when the file changes, so a refresh never stops playback.
  function renderVideo(wf) {
    const files = wf.files || [];
    const mp4 = files.find((f) => f.type === 'video' && /(^|\/)story\.mp4$/.test(f.path || f.name));
    const key = mp4 ? mp4.id + mp4.sha256 : '';
    if (videoSlot.dataset.key === key) return;
    videoSlot.dataset.key = key;
    clear(videoSlot);
    if (!mp4) return;
    const vtt = files.find((f) => /(^|\/)story\.vtt$/.test(f.path || f.name));
    const poster = files.find((f) => /(^|\/)poster\.jpg$/.test(f.path || f.name));
    const m = mp4.metadata || {};
    const facts = [
      m.duration_s ? fmtSeconds(m.duration_s) : null,
      m.width && m.height ? `${m.width}×${m.height}` : null,
      m.fps ? `${m.fps} fps` : null,
      fmtBytes(mp4.size),
    ].filter(Boolean).join(' · ');
    videoSlot.append(h('section', { class: 'card video-card', 'aria-labelledby': 'video-h' },
      h('div', { class: 'video-head' },
        h('h2', { id: 'video-h' }, 'Video'),
        h('a', { class: 'btn btn-small', href: `${mp4.url}?download=1`, download: 'story.mp4' },
          'Download video')),
      h('video', { class: 'story-video', controls: true, preload: 'metadata', src: mp4.url,
        poster: poster ? poster.url : undefined, 'aria-label': `Video of ${wf.title || 'the story'}` },
        vtt ? h('track', { kind: 'subtitles', srclang: 'en', label: 'Narration', default: true, src: vtt.url }) : null),
      h('p', { class: 'muted small' }, facts)));
  }

  function fmtSeconds(s) {
    const t = Math.round(Number(s) || 0);
    return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
  }

  function renderFiles(wf) {
    clear(filesBody);
    const files = wf.files || [];
    if (!files.length) {
      filesBody.append(h('p', { class: 'muted' }, isActive(wf.status) ? 'Files appear here as they are made.' : 'No files.'));
      return;
    }
    const total = files.reduce((a, f) => a + (Number(f.size) || 0), 0);
    filesBody.append(h('p', { class: 'muted' }, `${files.length} files, ${fmtBytes(total)} in all.`),
      // The whole story, every file and a manifest, once it has finished (409 before).
      isActive(wf.status) ? null : h('p', null,
        h('a', { class: 'btn btn-small', href: `/api/v1/workflows/${encodeURIComponent(wf.id)}/archive`, download: '' },
          'Download all (zip)')),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table files-table' },
          h('thead', null, h('tr', null,
            ['Name', 'Type', 'Size', 'Scene', 'Checksum', 'Details', ''].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, files.map((f) => h('tr', null,
            h('td', null, h('a', { href: f.url, target: '_blank', rel: 'noopener' }, f.name || f.path)),
            h('td', null, h('span', { class: 'tag' }, f.type), h('div', { class: 'muted small' }, f.mime_type)),
            h('td', { class: 'num' }, fmtBytes(f.size)),
            h('td', { class: 'num' }, f.scene_number ?? '—'),
            h('td', null, h('code', { title: `SHA-256 ${f.sha256}` }, (f.sha256 || '').slice(0, 12))),
            h('td', null, metadataList(f.metadata)),
            h('td', { class: 'file-actions' },
              h('a', { class: 'btn btn-small', href: `${f.url}?download=1`, download: f.name || '' },
                'Download', h('span', { class: 'sr-only' }, ` ${f.name}`)),
              // A queued or running story's files are not deleted (the server answers 409).
              isActive(wf.status) ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost',
                onclick: () => deleteFile(f) }, 'Delete', h('span', { class: 'sr-only' }, ` ${f.name}`)))))))));
  }

  async function deleteFile(f) {
    const ok = await confirmDialog({
      title: `Delete ${f.name}?`,
      text: 'The file is removed for good. A scene showing it shows nothing; a storyboard or video already made stays as it is.',
      confirm: 'Delete file',
      danger: true,
    });
    if (!ok) return;
    try {
      await del(`/api/v1/files/${encodeURIComponent(f.id)}`);
      toast(`${f.name} deleted.`, 'success');
      v.onAction?.(await get(`/api/v1/workflows/${encodeURIComponent(v.wf.id)}`), 'file');
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  v.addEvent = (ev) => {
    if (ev.id && v.events.has(ev.id)) return;
    const d = ev.data || {};
    let text;
    if (ev.type === 'status') {
      text = d.retry ? 'Queued again for a retry' : `Story ${statusLabel(d.status).toLowerCase()}`;
      if (d.status === 'running' && d.attempt > 1) text += ` (attempt ${d.attempt})`;
      if (d.error && d.error.message) text += `: ${d.error.message}`;
    } else if (ev.type === 'phase') {
      const st = d.status === 'running' ? 'started' : d.status;
      text = `${phaseLabel(d.phase)} — ${st}`;
      if (d.scenes) text += ` (${d.scenes} scenes)`;
      if (d.error) text += `: ${d.error}`;
    } else if (ev.type === 'file') {
      const name = String(d.path || '').split('/').pop();
      text = `Saved ${name}${d.scene ? ` for scene ${d.scene}` : ''}${d.size ? ` (${fmtBytes(d.size)})` : ''}`;
    } else if (ev.type === 'progress') {
      return; // shown by the bar; the timeline keeps milestones only
    } else {
      text = ev.type;
    }
    const li = h('li', { class: `tl tl-${ev.type} tl-${d.status || ''}`, dataset: { type: ev.type } },
      h('span', { class: 'tl-dot', 'aria-hidden': 'true' }), h('span', null, text));
    if (ev.id) v.events.set(ev.id, li);
    timeline.append(li);
    timeline.scrollTop = timeline.scrollHeight;
  };

  v.setLiveProgress = (p, video) => {
    // A finished story's replayed events must not wind the bar back.
    if (!v.wf || typeof p !== 'number' || FINAL.has(v.wf.status)) return;
    v.wf.progress = Math.max(p, 0);
    setProgress(bar, p);
    progressText.textContent = progressLabel(v.wf, p) +
      (typeof video === 'number' ? ` · encoding the video, ${Math.round(video * 100)}%` : '');
  };

  v.setLivePhase = (d) => {
    if (!v.wf || !d.phase || FINAL.has(v.wf.status)) return;
    if (d.status === 'running') v.wf.phase = d.phase;
    const li = phases.querySelector(`[data-phase="${d.phase}"]`);
    if (li) {
      li.className = `phase phase-${d.status}`;
      li.querySelector('.phase-status').textContent = statusLabel(d.status);
    }
    progressText.textContent = progressLabel(v.wf, v.wf.progress);
  };

  v.update = (wf) => {
    v.wf = wf;
    ctx.setTitle(wf.title || 'Untitled story');
    title.textContent = wf.title || 'Untitled story';
    clear(badgeSlot).append(statusBadge(wf.status));
    meta.textContent = `Created ${fmtDate(wf.created_at)}` + (wf.finished_at ? ` · finished ${fmtDate(wf.finished_at)}` : '');
    setProgress(bar, wf.progress);
    progressText.textContent = progressLabel(wf, wf.progress);
    renderActions(wf);
    renderPhases(wf);
    clear(errorSlot);
    if (wf.status === 'failed' && wf.error) {
      errorSlot.append(h('div', { class: 'alert alert-error', role: 'alert' },
        h('strong', null, 'This story stopped. '), wf.error.message || 'A step failed.',
        ' You can retry: it resumes from the step that failed.'));
    } else if (wf.status === 'cancelled') {
      errorSlot.append(h('div', { class: 'alert alert-warning' }, 'This story was cancelled. Retry to carry on where it stopped.'));
    }
    renderVideo(wf);
    renderStats(wf);
    renderStory(wf);
    renderScenes(wf);
    renderFiles(wf);
    calls.update(wf);
    v.root.dataset.status = wf.status;
    v.root.dataset.final = FINAL.has(wf.status) ? 'true' : 'false';
  };

  return v;
}

function buildLightbox() {
  const img = h('img', { class: 'lightbox-img', alt: '' });
  const caption = h('p', { class: 'lightbox-caption' });
  const links = h('div', { class: 'dialog-actions' });
  const el = h('dialog', { class: 'lightbox', 'aria-label': 'Scene picture' },
    h('form', { method: 'dialog' },
      img, caption, links));
  el.addEventListener('click', (e) => {
    if (e.target === el) el.close();
  });
  return {
    el,
    show(s) {
      img.src = s.image.url;
      img.alt = s.image_prompt || s.description || `Scene ${s.number}`;
      caption.textContent = `Scene ${s.number}${s.title ? ': ' + s.title : ''}`;
      clear(links).append(
        h('a', { class: 'btn', href: s.image.url, target: '_blank', rel: 'noopener' }, 'Open original'),
        h('a', { class: 'btn', href: `${s.image.url}?download=1`, download: s.image.name || '' }, 'Download'),
        h('button', { class: 'btn btn-primary', value: 'close' }, 'Close'));
      el.showModal();
    },
  };
}
