// Tributary console: small progressive enhancements. Every page works without this file.

// Ask before a destructive form is sent.
document.addEventListener('submit', (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question !== undefined && !window.confirm(question)) event.preventDefault();
});

// Show that a sent form is being worked on: its button says so and cannot send it twice. Runs
// after the question above, so a form the user declined is left alone.
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
  form.setAttribute('aria-busy', 'true');
  for (const button of form.querySelectorAll('button:not([type=button])')) {
    button.dataset.label = button.textContent ?? '';
    button.textContent = 'Working…';
    // Disabled on the next turn: a button disabled now would leave its name out of the form.
    setTimeout(() => {
      button.disabled = true;
    }, 0);
  }
});

// A page shown again from the back-forward cache: its forms are idle again.
window.addEventListener('pageshow', (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll('form[aria-busy=true]')) {
    form.removeAttribute('aria-busy');
    for (const button of form.querySelectorAll('button[data-label]')) {
      button.textContent = button.dataset.label ?? '';
      button.disabled = false;
    }
  }
});

// Copy a record as JSON to the clipboard.
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('button.copy') : null;
  if (button === null) return;
  const text = button.getAttribute('data-copy') ?? '';
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  const label = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => {
    button.textContent = label;
  }, 1200);
});

// Filter a table's rows as a search box is typed in.
for (const input of document.querySelectorAll('input[data-filter]')) {
  const rows = document.querySelectorAll(`${input.dataset.filter} tbody tr`);
  input.addEventListener('input', () => {
    const needle = input.value.trim().toLowerCase();
    for (const row of rows) {
      const name = row.cells[0]?.textContent?.toLowerCase() ?? '';
      row.hidden = needle !== '' && !name.includes(needle);
    }
  });
}

// Show only the query fields the chosen mode uses.
const FIELDS_BY_MODE = {
  latest: ['partition', 'count', 'format'],
  offset: ['partition', 'offset', 'count', 'format'],
  timestamp: ['partition', 'timestamp', 'count', 'format'],
  search: ['partition', 'offset', 'timestamp', 'count', 'q', 'field', 'scan', 'format'],
};
const query = document.querySelector('form.query');
if (query !== null) {
  const mode = query.querySelector('select[name=mode]');
  const update = () => {
    const shown = FIELDS_BY_MODE[mode.value] ?? [];
    for (const field of query.querySelectorAll('[name]')) {
      if (field === mode) continue;
      const label = field.closest('label');
      if (label !== null) label.hidden = !shown.includes(field.name);
    }
  };
  mode.addEventListener('change', update);
  update();
}
