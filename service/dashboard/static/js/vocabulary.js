// The server's vocabulary (service/dashboard/vocabulary.py): statuses, decisions, stage
// names and the near-threshold band, each from its one Python home, rendered into every page
// as the body's data-vocabulary. Scripts read them here and keep no copies.

export const vocabulary = JSON.parse(document.body.dataset.vocabulary);

/** ``template`` with each {name} replaced by ``values[name]``. */
export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
}

/** The decisions that have a key of their own: [[action, words], ...]. */
export const KEYED_DECISIONS = Object.entries(vocabulary.decisions).filter(([, words]) => words.key);

/** The label ``action`` gives ``sample`` (``label``: what a relabel names), by the server's rule. */
export function finalLabel(sample, action, label) {
  const source = vocabulary.decisions[action]?.final_label_from;
  if (!source) return null;
  return source === "label" ? label : sample[source];
}

const FOLD_STAGE = new RegExp(vocabulary.stages.fold_pattern);

/** "epoch 3 of 20", "640 of 1800 images": how far a running stage is. */
export function countText(stage, done, total) {
  const template = vocabulary.stages.stage_count_text[stage] ?? vocabulary.stages.count_text;
  return fill(template, { done, total });
}

/** "Held-out models, fold 1 of 2", "Training": what a running audit's stage is called. */
export function stageText(stage) {
  const fold = FOLD_STAGE.exec(stage);
  if (!fold) return vocabulary.stages.text[stage] ?? stage;
  const [, phase, number, folds] = fold;
  return fill(vocabulary.stages.fold_text, { phase: vocabulary.stages.fold_phases[phase], fold: number, folds });
}
