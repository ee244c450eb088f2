// New-story form: prompt, title, scenes, style, narration and video; creates a workflow.
import { post } from '../api.js';
import { clearFieldErrors, field, h, pageHeader, setFieldError, toast } from '../ui.js';

const STYLES = ['Storybook watercolor', 'Ink and wash', 'Bright cartoon', 'Film noir', 'Retro sci-fi poster',
  'Cozy pastel', 'Photographic'];

export function render(main, ctx) {
  const prompt = h('textarea', { name: 'prompt', rows: '5', required: true, maxlength: '4000',
    placeholder: 'A lighthouse keeper finds a map that leads under the sea…' });
  const title = h('input', { name: 'title', maxlength: '200', placeholder: 'Optional — we will make one up' });
  const scenes = h('input', { name: 'options.scenes', type: 'number', min: '1', max: '20', step: '1', value: '4',
    inputmode: 'numeric', required: true });
  const style = h('input', { name: 'options.style', list: 'style-list', maxlength: '200',
    placeholder: 'e.g. Storybook watercolor' });
  const styleList = h('datalist', { id: 'style-list' }, STYLES.map((s) => h('option', { value: s })));
  const narration = h('input', { name: 'options.narration', type: 'checkbox', id: 'narration', checked: true });
  const video = h('input', { name: 'options.video', type: 'checkbox', id: 'video', checked: true });
  const formError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create storyboard');

  const form = h('form', { class: 'card form-card stack', novalidate: true },
    field('What is your story about?', prompt, { hint: 'A sentence or two is plenty.' }),
    field('Title', title),
    h('div', { class: 'row-2' },
      field('Scenes', scenes, { hint: 'From 1 to 20.' }),
      field('Visual style', style, { hint: 'Any words you like.' })),
    styleList,
    h('div', { class: 'check' }, narration,
      h('label', { for: 'narration' }, 'Narrate each scene', h('span', { class: 'hint inline' }, ' — adds an audio track'))),
    h('div', { class: 'check' }, video,
      h('label', { for: 'video' }, 'Make a video', h('span', { class: 'hint inline' }, ' — an MP4 of the pictures with the narration and captions'))),
    formError,
    h('div', { class: 'form-actions' }, submit, h('a', { href: '#/', class: 'btn btn-ghost' }, 'Cancel')));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.hidden = true;
    const n = Number(scenes.value);
    if (!prompt.value.trim()) {
      setFieldError(form, 'prompt', 'Write a few words for the story to start from.');
      return;
    }
    if (!Number.isInteger(n) || n < 1 || n > 20) {
      setFieldError(form, 'options.scenes', 'Choose a whole number of scenes from 1 to 20.');
      return;
    }
    const body = {
      prompt: prompt.value.trim(),
      options: { scenes: n, narration: narration.checked, video: video.checked },
    };
    if (title.value.trim()) body.title = title.value.trim();
    if (style.value.trim()) body.options.style = style.value.trim();
    submit.disabled = true;
    submit.textContent = 'Creating…';
    try {
      const wf = await post('/api/v1/workflows', body);
      toast('Your story is on its way.', 'success');
      ctx.navigate(`/w/${wf.id}`);
    } catch (e) {
      if (!(e.field && setFieldError(form, e.field, e.message))) {
        formError.textContent = e.message;
        formError.hidden = false;
      }
    } finally {
      submit.disabled = false;
      submit.textContent = 'Create storyboard';
    }
  });

  main.append(pageHeader('New story', 'Describe an idea; Storyloom writes the story, draws each scene and narrates it.'),
    form);
  prompt.focus();
}
