/*
 * The editor's desk: the article list from the keyboard, without losing work.
 *
 * Progressive enhancement of Django's change list. Without this script the list is the plain
 * form (Enter and Save submit it; the template's hidden default button makes Enter save rather
 * than run the bulk action). With it:
 *   - Enter in a row's input, or Ctrl/Cmd+S anywhere, saves every edited row without reloading
 *     the page, each through the row endpoint (same form, version check and history as the list);
 *   - ticking "published" saves that row at once;
 *   - Tab goes published -> quality -> heat -> the next row's published (Shift+Tab is left as it
 *     is, so each row's selection box and title link stay reachable);
 *   - the row's schedule ("publish at" and "unpublish at", one above the other in one column) is
 *     the browser's own date and time pickers, in the editor's time zone, empty = none: Alt+T in
 *     a row goes to its "publish at", from where Tab moves on through the time's parts to
 *     "unpublish at", as usual; they save with the rest of the row, and a time left half typed
 *     is never sent (the pin is set on the form and by its bulk action);
 *   - running a bulk action, or leaving the page, while edits are unsaved asks first;
 *   - "?" lists the shortcuts.
 * The page's hidden version of a row is updated after each row save, so a later full-page Save is
 * not refused as stale because of the editor's own row saves.
 */
"use strict";

(function () {
    const script = document.currentScript;
    const changelistUrl = script ? script.dataset.changelistUrl : "";
    const FIELDS = ["published", "quality", "heat", "publish_at", "unpublish_at"];
    const ROW_INPUT = /^form-(\d+)-(published|quality|heat|publish_at|unpublish_at)$/;
    // What the form calls the row's times, for a message about one of them.
    const LABELS = {publish_at: "Publish at", unpublish_at: "Unpublish at"};

    const SHORTCUTS = [
        ["Enter", "in a row's box: save every edited row (no page reload)"],
        ["Ctrl+S / \u2318S", "save every edited row"],
        ["Space", "on \u201cpublished\u201d: publish or unpublish that row, saved at once"],
        ["Tab", "published \u2192 quality \u2192 heat \u2192 the next row"],
        ["Alt+T", "in a row: to its \u201cpublish at\u201d time (Tab goes on to \u201cunpublish at\u201d); empty = none"],
        ["Shift+Tab", "back, through the row's selection box and title"],
        ["?", "show this list"],
        ["Escape", "close this list or a question"]
    ];

    function ready(fn) {
        if (document.readyState !== "loading") {
            fn();
        } else {
            document.addEventListener("DOMContentLoaded", fn);
        }
    }

    function element(tag, attributes, text) {
        const made = document.createElement(tag);
        Object.entries(attributes || {}).forEach(function ([name, value]) {
            made.setAttribute(name, value);
        });
        if (text !== undefined) {
            made.textContent = text;
        }
        return made;
    }

    function plural(count, one, many) {
        return count + " " + (count === 1 ? one : many);
    }

    ready(function () {
        const form = document.getElementById("changelist-form");
        const table = document.getElementById("result_list");
        if (!form || !table || !changelistUrl) {
            return;
        }
        const csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
        const rows = collectRows(form, table);
        if (!rows.length) {
            return;
        }
        mergeSchedule(table);
        const byInput = new Map();
        rows.forEach(function (row) {
            FIELDS.forEach(function (name) {
                if (row.inputs[name]) {
                    byInput.set(row.inputs[name], row);
                }
            });
        });

        // The save bar: Django's paginator line, which holds the Save button (kept in view by
        // desk-keys.css), plus the live region that says what happened.
        const bar = form.querySelector(".paginator") || form;
        bar.classList.add("desk-save-bar");
        const status = element("span", {
            id: "desk-status",
            class: "desk-status",
            role: "status",
            "aria-live": "polite"
        });
        const help = element("button", {type: "button", class: "desk-help-button"}, "Shortcuts (?)");
        bar.append(" ", status, " ", help);

        const shortcuts = shortcutsDialog();
        help.addEventListener("click", function () {
            shortcuts.showModal();
        });
        const actionQuestion = actionDialog();

        let leaving = false;

        // -- what is edited --------------------------------------------------------------

        function current(row, name) {
            const input = row.inputs[name];
            return input.type === "checkbox" ? input.checked : input.value.trim();
        }

        // A date and time picker left half filled reads as empty: it counts as edited (never as
        // cleared), and is refused before anything is sent.
        function halfTyped(row, name) {
            const input = row.inputs[name];
            return Boolean(input && input.validity && input.validity.badInput);
        }

        function dirtyFields(row) {
            return FIELDS.filter(function (name) {
                return row.inputs[name] && (halfTyped(row, name) || current(row, name) !== row.saved[name]);
            });
        }

        function dirtyRows() {
            return rows.filter(function (row) {
                return dirtyFields(row).length > 0;
            });
        }

        function refreshDirty(row) {
            row.tr.classList.toggle("desk-dirty", dirtyFields(row).length > 0);
        }

        function say(text) {
            status.textContent = text;
        }

        // The stale-save message already names the article; a field's message does not.
        function refusal(row, message) {
            const named = "\u201c" + row.title + "\u201d";
            return message.startsWith(named) ? message : named + " was not saved: " + message;
        }

        // -- saving one row --------------------------------------------------------------

        function showState(row, state, message) {
            row.tr.dataset.deskState = state;
            row.state.textContent = {saving: "saving\u2026", saved: "saved", refused: "not saved"}[state];
            row.state.dataset.state = state;
            if (row.message) {
                row.message.remove();
                row.message = null;
            }
            row.refusal = state === "refused" ? message : "";
            if (state === "refused") {
                // The whole reason, on a line of its own under the row, in plain sight.
                const cell = element("td", {colspan: String(row.tr.cells.length)});
                cell.append(element("strong", {}, "Not saved: "), document.createTextNode(refusal(row, message)));
                row.message = element("tr", {class: "desk-row-message"});
                row.message.append(cell);
                row.tr.after(row.message);
            }
        }

        // One row save at a time, in the order asked: a row's next save starts from the version
        // its last one returned, and the server is never sent a burst of parallel writes (which
        // a SQLite database would answer with "database is locked").
        let queue = Promise.resolve(true);

        function saveRow(row) {
            const send = function () {
                return sendRow(row);
            };
            queue = queue.then(send, send);
            return queue;
        }

        function sendRow(row) {
            const fields = dirtyFields(row);
            if (!fields.length) {
                return Promise.resolve(true);
            }
            const unfinished = fields.filter(function (name) {
                return halfTyped(row, name);
            });
            if (unfinished.length) {
                unfinished.forEach(function (name) {
                    row.inputs[name].setAttribute("aria-invalid", "true");
                });
                const message = "\u201c" + LABELS[unfinished[0]] + "\u201d is not a whole date and time: " +
                    "finish it, or empty it for none.";
                showState(row, "refused", message);
                return Promise.resolve(false);
            }
            const sent = {};
            const body = new URLSearchParams();
            fields.forEach(function (name) {
                sent[name] = current(row, name);
                body.append(name, name === "published" ? String(sent[name]) : sent[name]);
            });
            body.append("expected_version", row.version.value);
            FIELDS.forEach(function (name) {
                if (row.inputs[name]) {
                    row.inputs[name].removeAttribute("aria-invalid");
                }
            });
            showState(row, "saving");
            return fetch(changelistUrl + encodeURIComponent(row.pk) + "/editorial/", {
                method: "POST",
                body: body,
                credentials: "same-origin",
                redirect: "manual",
                headers: {
                    "Accept": "application/json",
                    "X-CSRFToken": csrf ? csrf.value : "",
                    "X-Requested-With": "XMLHttpRequest"
                }
            }).then(function (response) {
                const type = response.headers.get("Content-Type") || "";
                if (!type.includes("application/json")) {
                    return {ok: false, message: "the server answered " + (response.status || "with a redirect") +
                        " (has the session ended? Log in again in another tab, then press Enter again)." +
                        " Your edits are still on this page."};
                }
                return response.json();
            }).then(function (answer) {
                if (!answer.ok) {
                    Object.keys(answer.errors || {}).forEach(function (name) {
                        if (row.inputs[name]) {
                            row.inputs[name].setAttribute("aria-invalid", "true");
                        }
                    });
                    showState(row, "refused", answer.message);
                    say(refusal(row, answer.message));
                    return false;
                }
                row.version.value = String(answer.version);
                fields.forEach(function (name) {
                    const stored = answer.values[name];
                    // A time comes back as its input shows it (the editor's time zone).
                    const shown = answer.shown && name in answer.shown ? answer.shown[name] :
                        (name === "published" ? stored : (stored === null ? "" : String(stored)));
                    // Typed on while the save was under way: keep the newer value, still unsaved.
                    if (current(row, name) === sent[name] && row.inputs[name].type !== "checkbox") {
                        row.inputs[name].value = shown;
                    }
                    row.saved[name] = shown;
                });
                refreshDirty(row);
                showState(row, "saved");
                return true;
            }, function () {
                showState(row, "refused", "the server could not be reached. Your edits are still on this page.");
                say(refusal(row, "the server could not be reached."));
                return false;
            });
        }

        function saveAll() {
            const edited = dirtyRows();
            if (!edited.length) {
                say("Nothing to save: no row has unsaved edits.");
                return Promise.resolve(true);
            }
            say("Saving " + plural(edited.length, "row", "rows") + "\u2026");
            return Promise.all(edited.map(saveRow)).then(function (results) {
                const refused = edited.filter(function (row, index) {
                    return !results[index];
                });
                const saved = results.length - refused.length;
                if (!refused.length) {
                    say(saved === 1 ? "\u201c" + edited[0].title + "\u201d saved." : "Saved " + saved + " rows.");
                } else if (refused.length === 1) {
                    say(refusal(refused[0], refused[0].refusal) +
                        (saved ? " (" + plural(saved, "other row", "other rows") + " saved.)" : ""));
                } else {
                    say(plural(saved, "row", "rows") + " saved, " + refused.length +
                        " not saved: the reason is under each of them.");
                }
                return refused.length === 0;
            });
        }

        // -- the keyboard ----------------------------------------------------------------

        form.addEventListener("input", function (event) {
            const row = byInput.get(event.target);
            if (row) {
                refreshDirty(row);
            }
        });

        form.addEventListener("change", function (event) {
            const row = byInput.get(event.target);
            if (!row) {
                return;
            }
            refreshDirty(row);
            if (event.target === row.inputs.published) {
                saveRow(row).then(function (ok) {
                    if (ok) {
                        say("\u201c" + row.title + "\u201d " + (row.saved.published ? "published." : "unpublished."));
                    }
                });
            }
        });

        form.addEventListener("keydown", function (event) {
            const row = byInput.get(event.target);
            if (row && event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyT" &&
                row.inputs.publish_at) {
                event.preventDefault();
                row.inputs.publish_at.focus();
                return;
            }
            if (!row || event.altKey || event.ctrlKey || event.metaKey) {
                return;
            }
            if (event.key === "Enter") {
                // Never the form's implicit submission: that would reload the page.
                event.preventDefault();
                saveAll();
            } else if (event.key === "Tab" && !event.shiftKey && event.target === row.inputs.heat) {
                const next = rows[rows.indexOf(row) + 1];
                if (next && next.inputs.published) {
                    event.preventDefault();
                    next.inputs.published.focus();
                }
            }
        });

        document.addEventListener("keydown", function (event) {
            if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
                event.preventDefault();
                saveAll();
            } else if (event.key === "?" && !typingText(event.target) && !document.querySelector("dialog[open]")) {
                event.preventDefault();
                shortcuts.showModal();
            }
        });

        // Enter anywhere else in the form submits it with the template's hidden default Save:
        // with this script, that is a row save too.
        form.addEventListener("submit", function (event) {
            if (event.submitter && event.submitter.classList.contains("desk-default-save")) {
                event.preventDefault();
                saveAll();
            }
        });

        // -- bulk actions and leaving ------------------------------------------------------

        // Capturing, so this runs before Django's own handler on "Go" (a window.confirm that
        // cannot tell saved rows from unsaved ones), and instead of it.
        document.addEventListener("click", function (event) {
            const go = event.target.closest && event.target.closest("#changelist-form button[name=index]");
            if (!go) {
                return;
            }
            event.stopPropagation();
            const edited = dirtyRows();
            if (edited.length) {
                event.preventDefault();
                actionQuestion.ask(go, edited);
            }
        }, true);

        window.addEventListener("submit", function (event) {
            if (event.target === form && !event.defaultPrevented) {
                leaving = true;  // the form's own submission: Save, or an action
            }
        });

        window.addEventListener("beforeunload", function (event) {
            if (!leaving && dirtyRows().length) {
                event.preventDefault();
                event.returnValue = "";
            }
        });

        function runAction(go) {
            form.requestSubmit(go);
        }

        // -- dialogs -----------------------------------------------------------------------

        function shortcutsDialog() {
            const dialog = element("dialog", {id: "desk-shortcuts", class: "desk-dialog", "aria-labelledby": "desk-shortcuts-title"});
            dialog.append(element("h2", {id: "desk-shortcuts-title"}, "Keyboard shortcuts"));
            const list = element("dl", {class: "desk-shortcuts"});
            SHORTCUTS.forEach(function ([keys, what]) {
                list.append(element("dt", {}, keys), element("dd", {}, what));
            });
            const close = element("button", {type: "button", class: "button"}, "Close");
            close.addEventListener("click", function () {
                dialog.close();
            });
            dialog.append(list, close);
            document.body.append(dialog);
            return dialog;
        }

        function actionDialog() {
            const dialog = element("dialog", {id: "desk-unsaved", class: "desk-dialog", role: "alertdialog", "aria-labelledby": "desk-unsaved-title"});
            dialog.append(element("h2", {id: "desk-unsaved-title"}, "Unsaved edits"));
            const text = element("p", {id: "desk-unsaved-text"});
            dialog.setAttribute("aria-describedby", "desk-unsaved-text");
            const save = element("button", {type: "button", class: "button default", autofocus: ""}, "Save edits first, then run the action");
            const discard = element("button", {type: "button", class: "button"}, "Discard edits and run the action");
            const cancel = element("button", {type: "button", class: "button"}, "Cancel");
            const buttons = element("p", {class: "desk-dialog-buttons"});
            buttons.append(save, " ", discard, " ", cancel);
            dialog.append(text, buttons);
            document.body.append(dialog);
            let go = null;
            save.addEventListener("click", function () {
                dialog.close();
                saveAll().then(function (allSaved) {
                    if (allSaved) {
                        runAction(go);
                    }
                });
            });
            discard.addEventListener("click", function () {
                dialog.close();
                dirtyRows().forEach(function (row) {
                    FIELDS.forEach(function (name) {
                        const input = row.inputs[name];
                        if (input && input.type === "checkbox") {
                            input.checked = row.saved[name];
                        } else if (input) {
                            input.value = row.saved[name];
                        }
                    });
                    refreshDirty(row);
                });
                runAction(go);
            });
            cancel.addEventListener("click", function () {
                dialog.close();
            });
            return {
                ask: function (button, edited) {
                    go = button;
                    const titles = edited.slice(0, 3).map(function (row) {
                        return "\u201c" + row.title + "\u201d";
                    }).join(", ") + (edited.length > 3 ? " and " + (edited.length - 3) + " more" : "");
                    text.textContent = plural(edited.length, "row has", "rows have") +
                        " unsaved edits (" + titles + "). Running the action reloads the page, which would lose them.";
                    dialog.showModal();
                }
            };
        }
    });

    function typingText(target) {
        if (!target || !target.tagName) {
            return false;
        }
        if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
            return true;
        }
        return target.tagName === "INPUT" && !["checkbox", "radio", "number", "submit", "button"].includes(target.type);
    }

    // The schedule's two pickers, one above the other in one column (two side by side would not
    // fit beside the rest at 1366 px). Without this script they stay two columns of the table.
    function mergeSchedule(table) {
        const first = table.querySelector("thead th.column-publish_at");
        const second = table.querySelector("thead th.column-unpublish_at");
        if (!first || !second) {
            return;
        }
        Array.from(table.querySelectorAll("tbody tr")).forEach(function (tr) {
            const start = tr.querySelector("td.field-publish_at");
            const end = tr.querySelector("td.field-unpublish_at");
            if (!start || !end) {
                return;
            }
            start.prepend(element("span", {class: "desk-time-label", "aria-hidden": "true"}, "from"));
            start.append(element("span", {class: "desk-time-label", "aria-hidden": "true"}, "until"));
            while (end.firstChild) {
                start.append(end.firstChild);
            }
            end.remove();
        });
        second.remove();
        const heading = first.querySelector(".text") || first;
        heading.textContent = "Schedule";
        first.title = "Publish at (from) and unpublish at (until); empty = none";
    }

    function collectRows(form, table) {
        const rows = [];
        const errorPage = document.querySelector(".errornote") !== null;
        Array.from(table.tBodies).forEach(function (body) {
            Array.from(body.rows).forEach(function (tr) {
                const inputs = {};
                let index = null;
                tr.querySelectorAll("input").forEach(function (input) {
                    const match = ROW_INPUT.exec(input.name);
                    if (match) {
                        index = match[1];
                        inputs[match[2]] = input;
                    }
                });
                if (index === null) {
                    return;
                }
                const pk = form.querySelector("input[name='form-" + index + "-id']");
                const version = form.querySelector("input[name='form-" + index + "-expected_version']");
                if (!pk || !version) {
                    return;
                }
                // What the database holds, as drawn. A page redrawn with the list's errors shows
                // the refused values instead: there, every row counts as unsaved (a row save of
                // an untouched row is harmless: the endpoint changes nothing).
                const saved = {};
                FIELDS.forEach(function (name) {
                    const input = inputs[name];
                    if (input && !errorPage) {
                        saved[name] = input.type === "checkbox" ? input.defaultChecked : input.defaultValue.trim();
                    } else if (input) {
                        saved[name] = null;
                    }
                });
                const anchor = inputs.heat || inputs.quality || inputs.published;
                const state = element("span", {class: "desk-row-state"});
                anchor.parentNode.append(state);
                const title = tr.querySelector(".field-title_shown");
                rows.push({
                    tr: tr,
                    pk: pk.value,
                    version: version,
                    inputs: inputs,
                    saved: saved,
                    state: state,
                    message: null,
                    refusal: "",
                    title: title ? title.textContent.trim() : "Article " + pk.value
                });
            });
        });
        return rows;
    }
})();
