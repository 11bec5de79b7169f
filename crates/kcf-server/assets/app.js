// The workspace's own behaviour, kept out of the pages so the Content-Security-Policy can
// refuse inline scripts. Delegated from the document, so it survives htmx swaps.
document.addEventListener("click", (e) => {
  const box = e.target;
  if (box instanceof HTMLInputElement && box.dataset.selectAll) {
    document.querySelectorAll(box.dataset.selectAll).forEach((c) => (c.checked = box.checked));
  }
});
document.addEventListener("change", (e) => {
  const input = e.target;
  if (input instanceof HTMLInputElement && input.dataset.readInto && input.files?.[0]) {
    input.files[0].text().then((text) => (input.form.elements[input.dataset.readInto].value = text));
  }
});
// A list refreshes itself, except while the person has rows ticked (the refresh would lose
// them): elements say which selector pauses them in data-pause-when.
document.addEventListener("htmx:beforeRequest", (e) => {
  const pauseWhen = e.detail?.elt?.dataset?.pauseWhen;
  if (pauseWhen && document.querySelector(pauseWhen)) e.preventDefault();
});
