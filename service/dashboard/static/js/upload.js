// The admin's upload form: the file and the main options go up as multipart, with a
// progress bar while the bytes travel; a refused upload shows the server's reason.

import { uploadDataset } from "./api.js";
import { byId, format, toast } from "./dom.js";
import { meter } from "./status.js";

/** The options the form sets, as the upload's `config` JSON (empty fields: defaults). */
function config() {
  const options = { loss: byId("upload-loss").value };
  const name = byId("upload-name").value.trim();
  if (name) options.name = name;
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
      showError(`The upload was refused: ${failure.message}`);
    } finally {
      submit.disabled = false;
      progressBox.hidden = true;
    }
  });
}
