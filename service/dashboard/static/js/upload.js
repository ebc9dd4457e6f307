// The admin's upload form: the file and the main options go up as multipart, with a
// progress bar while the bytes travel; a refused upload shows the server's reason.

import { uploadDataset } from "./api.js";
import { byId, format, toast } from "./dom.js";
import { meter } from "./status.js";

// The field that sets each option, so that a refusal caused by one names it.
const OPTION_FIELDS = {
  name: "upload-name",
  loss: "upload-loss",
  k: "upload-k",
  epochs: "upload-epochs",
  window: "upload-epochs",
  label_column: "upload-label-column",
  id_column: "upload-id-column",
};
const TEXT_OPTIONS = ["name", "label_column", "id_column"];

/** The options the form sets, as the upload's `config` JSON (empty fields: defaults). */
function config() {
  const options = { loss: byId("upload-loss").value };
  for (const option of TEXT_OPTIONS) {
    const value = byId(OPTION_FIELDS[option]).value.trim();
    if (value) options[option] = value;
  }
  const k = byId("upload-k").value;
  if (k !== "") options.k = Number(k);
  const epochs = byId("upload-epochs");
  if (epochs.value !== "") {
    options.epochs = Number(epochs.value);
    // A flag must hold over the last `window` epochs, which cannot exceed the epochs.
    options.window = Math.min(Number(epochs.dataset.window), options.epochs);
  }
  return options;
}

/** The form field behind a refused upload, if one of them is: a missing label column, or
 * an invalid option (the API names it in ``details``). */
function refusedField(failure) {
  const option = failure.code === "missing_label_column" ? "label_column" : failure.details?.[0]?.option;
  return OPTION_FIELDS[option] ? byId(OPTION_FIELDS[option]) : null;
}

/** Wire the form (absent for reviewers); ``onCreated(audit)`` gets each new audit. */
export function initUpload(onCreated) {
  const form = byId("upload-form");
  if (!form) return;
  const error = byId("upload-error");
  const progressBox = byId("upload-progress");
  const submit = byId("upload-submit");
  const progress = meter("Upload progress");
  progressBox.append(progress.element);

  const showError = (message) => {
    error.textContent = message;
    error.hidden = !message;
    form.querySelectorAll("[aria-invalid]").forEach((field) => field.removeAttribute("aria-invalid"));
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    const file = byId("upload-file").files[0];
    if (!file) {
      showError("Choose a dataset file first.");
      byId("upload-file").focus();
      return;
    }
    const data = new FormData();
    data.append("file", file);
    data.append("config", JSON.stringify(config()));
    submit.disabled = true;
    progressBox.hidden = false;
    progress.set(0, `Uploading ${file.name}`);
    try {
      const audit = await uploadDataset(data, (sent, total) => {
        const done = sent >= total;
        progress.set(sent / total, done
          ? "Checking the dataset…"
          : `Uploading ${file.name}: ${format.bytes(sent)} of ${format.bytes(total)}`);
      });
      form.reset();
      toast(`${audit.name} is uploaded; its audit is queued.`, "success");
      onCreated(audit);
    } catch (failure) {
      const field = refusedField(failure);
      if (field) {
        const label = form.querySelector(`label[for="${field.id}"]`).textContent;
        showError(`The upload was refused: ${failure.message}. Set the form's “${label}” field.`);
        field.setAttribute("aria-invalid", "true");
        field.focus();
      } else {
        showError(`The upload was refused: ${failure.message}`);
      }
    } finally {
      submit.disabled = false;
      progressBox.hidden = true;
    }
  });
}
