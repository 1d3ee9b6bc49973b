/* Cairn's page behaviour (progressive enhancement: every page works without it).
 *
 * Record forms: after each change the form is posted to its form-state endpoint and the
 * answer -- computed by the server with the same rules a save uses -- locks and unlocks
 * step cards, shows or hides fields and updates the stage's exit criteria. No rule is
 * evaluated here. Saves go through fetch so that the page does not reload; prompts a save
 * returns (S8) are shown above the form. Files upload as soon as they are chosen.
 *
 * Everything that comes from a server answer is written with textContent, never as HTML.
 */
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');
  var CSRF = meta ? meta.getAttribute("content") : "";
  var LANG = (document.documentElement.lang || "zh").indexOf("en") === 0 ? "en" : "zh";

  function t(value) {
    if (!value) return "";
    if (typeof value === "string") return value;
    return value[LANG] || value[LANG === "en" ? "zh" : "en"] || "";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": CSRF, "Accept": "application/json" }
    });
  }

  // ------------------------------------------------------------------ record form

  function RecordForm(form) {
    this.form = form;
    this.stateUrl = form.getAttribute("data-state-url");
    this.seq = 0;
    this.timer = null;
    this.saving = false;
    var self = this;
    form.addEventListener("input", function (e) {
      if (e.target.type === "file" || e.target.hasAttribute("data-link-search")) return;
      self.schedule();
    });
    form.addEventListener("change", function (e) {
      if (e.target.type === "file" || e.target.hasAttribute("data-link-search")) return;
      self.schedule();
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      // The designer's phone preview (data-preview) only shows the form: it never saves.
      if (form.hasAttribute("data-preview")) return;
      self.save(e.submitter || null);
    });
    form.querySelectorAll("[data-uploads]").forEach(function (box) { self.initUploads(box); });
    form.querySelectorAll("[data-location]").forEach(function (box) { self.initLocation(box); });
    form.querySelectorAll("[data-link-picker]").forEach(function (box) { self.initLinkPicker(box); });
  }

  RecordForm.prototype.schedule = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.refresh(); }, 200);
  };

  RecordForm.prototype.refresh = function () {
    var self = this;
    var mine = ++this.seq;
    this.form.setAttribute("data-state-pending", "1");
    return post(this.stateUrl, new FormData(this.form)).then(function (r) {
      if (!r.ok) throw new Error("state " + r.status);
      return r.json();
    }).then(function (data) {
      if (mine !== self.seq) return;
      self.apply(data.state);
      self.form.removeAttribute("data-state-pending");
      self.form.setAttribute("data-state-seq", String(mine));
    }).catch(function () {
      if (mine === self.seq) self.form.removeAttribute("data-state-pending");
    });
  };

  RecordForm.prototype.apply = function (state) {
    var form = this.form;
    var fallback = form.getAttribute("data-default-locked");
    (state.steps || []).forEach(function (s) {
      var card = form.querySelector('[data-step="' + CSS.escape(s.key) + '"]');
      if (!card) return;
      card.classList.toggle("locked", !s.unlocked);
      card.classList.toggle("done", !!s.done);
      var fields = card.querySelector("[data-step-fields]");
      if (fields) fields.disabled = !s.unlocked;
      var msg = card.querySelector("[data-locked-message]");
      if (msg) {
        msg.hidden = !!s.unlocked;
        msg.textContent = t(s.locked_message) || fallback;
      }
      var badge = card.querySelector("[data-step-badge]");
      if (badge) badge.textContent = !s.unlocked ? form.getAttribute("data-locked-badge") : (s.done ? "✓" : "");
    });
    Object.keys(state.fields || {}).forEach(function (key) {
      var fs = state.fields[key];
      var row = form.querySelector('[data-field="' + CSS.escape(key) + '"]');
      if (!row) return;
      row.hidden = !fs.visible;
      var req = row.querySelector("[data-required]");
      if (req) req.hidden = !fs.required;
      row.querySelectorAll("[data-input]").forEach(function (input) { input.disabled = !!fs.read_only; });
    });
    Object.keys(state.formulas || {}).forEach(function (key) {
      var out = form.querySelector('[data-formula="' + CSS.escape(key) + '"]');
      if (out) out.textContent = state.formulas[key] === null ? "" : String(state.formulas[key]);
    });
    applyStage(document.querySelector("[data-stage-bar]"), state.stage);
  };

  function applyStage(bar, stage) {
    if (!bar || !stage) return;
    var passed = true;
    bar.querySelectorAll("[data-stage]").forEach(function (li) {
      var current = li.getAttribute("data-stage") === stage.current;
      if (current) passed = false;
      li.classList.toggle("current", current);
      li.classList.toggle("passed", passed && !current);
    });
    var ok = bar.querySelector("[data-exit-ok]");
    if (ok) ok.textContent = stage.exit && stage.exit.ok ? "✓" : "✗";
    var list = bar.querySelector("[data-exit-parts]");
    if (!list || !stage.exit) return;
    list.textContent = "";
    (stage.exit.parts || []).forEach(function (part) {
      var li = el("li", { "class": part.held ? "held" : "failed" });
      li.appendChild(el("span", { "class": "mark" }, part.held ? "✓" : "✗"));
      li.appendChild(document.createTextNode(" "));
      if (part.label) {
        var english = (document.documentElement.lang || "").indexOf("en") === 0;
        li.appendChild(el("span", { "title": part.source }, (english && part.label_en) || part.label));
      } else {
        li.appendChild(el("code", {}, part.source));
      }
      list.appendChild(li);
    });
  }

  RecordForm.prototype.message = function (text, kind) {
    var box = document.querySelector("[data-form-message]");
    if (!box) return;
    box.hidden = !text;
    box.textContent = text || "";
    box.className = "flash" + (kind ? " flash-" + kind : "");
  };

  // The message of a refused save also goes inside the card whose Save was pressed.
  RecordForm.prototype.cardMessage = function (card, text) {
    this.form.querySelectorAll("[data-card-message]").forEach(function (p) {
      p.hidden = true;
      p.textContent = "";
    });
    if (!card || !text) return;
    var section = this.form.querySelector('[data-testid="card-' + CSS.escape(card) + '"]');
    var box = section ? section.querySelector("[data-card-message]") : null;
    if (!box) return;
    box.hidden = false;
    box.textContent = text;
  };

  RecordForm.prototype.showErrors = function (errors) {
    var form = this.form;
    form.querySelectorAll("[data-error-for]").forEach(function (p) {
      p.hidden = true;
      p.textContent = "";
      var row = p.closest(".field");
      if (row) row.classList.remove("has-error");
    });
    Object.keys(errors || {}).forEach(function (key) {
      var p = form.querySelector('[data-error-for="' + CSS.escape(key) + '"]');
      if (!p) return;
      p.hidden = false;
      p.textContent = [].concat(errors[key]).join(" ");
      var row = p.closest(".field");
      if (row) row.classList.add("has-error");
    });
  };

  RecordForm.prototype.save = function (submitter) {
    if (this.saving) return;
    var self = this;
    var form = this.form;
    var body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    this.saving = true;
    form.setAttribute("data-saving", "1");
    if (submitter) submitter.disabled = true;
    this.message(form.getAttribute("data-saving-text") || "", "");
    post(form.action, body).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (res) {
      var data = res.data;
      if (!res.ok) {
        var text = data.message || (LANG === "en" ? data.detail : (data.detail_zh || data.detail));
        self.showErrors(data.errors || {});
        self.message(text, "error");
        self.cardMessage(data.card || (submitter && submitter.value) || "main", text);
        return;
      }
      self.showErrors({});
      self.cardMessage(null, "");
      form.querySelectorAll("[data-version]").forEach(function (v) { v.value = data.version; });
      if (data.urls && form.action.indexOf(data.urls.edit) === -1) {
        form.action = data.urls.edit;
        self.stateUrl = data.urls.state;
        form.setAttribute("data-state-url", data.urls.state);
        if (window.history && history.replaceState) history.replaceState(null, "", data.urls.edit);
      }
      self.apply(data.state);
      showPrompts(data.prompts || []);
      self.message(data.message || form.getAttribute("data-saved"), "success");
      form.setAttribute("data-saved-version", String(data.version));
    }).catch(function () {
      self.message(form.getAttribute("data-failed"), "error");
    }).then(function () {
      self.saving = false;
      form.removeAttribute("data-saving");
      if (submitter) submitter.disabled = false;
    });
  };

  // -- uploads

  RecordForm.prototype.initUploads = function (box) {
    var self = this;
    var input = box.querySelector("[data-file-input]");
    var thumbs = box.querySelector("[data-thumbs]");
    var status = box.querySelector("[data-upload-status]");
    var name = box.getAttribute("data-name");
    var multiple = box.getAttribute("data-multiple") === "true";
    // With the script, files go up one by one at once; the form posts only their ids.
    input.removeAttribute("name");
    box.addEventListener("click", function (e) {
      var btn = e.target.closest("[data-remove-file]");
      if (!btn) return;
      btn.closest("li").remove();
      self.schedule();
    });
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []);
      input.value = "";
      var chain = Promise.resolve();
      files.forEach(function (file) {
        chain = chain.then(function () {
          status.textContent = self.form.getAttribute("data-uploading") + " " + file.name;
          var body = new FormData();
          body.append("file", file, file.name);
          return post(box.getAttribute("data-upload-url"), body).then(function (r) {
            return r.json().then(function (data) { return { ok: r.ok, data: data }; });
          }).then(function (res) {
            if (!res.ok) {
              status.textContent = file.name + ": " + (LANG === "en" ? res.data.detail : (res.data.detail_zh || res.data.detail));
              status.setAttribute("data-upload-error", "1");
              return;
            }
            status.removeAttribute("data-upload-error");
            status.textContent = "";
            if (!multiple) thumbs.textContent = "";
            var li = el("li", { "data-file-id": res.data.id });
            if (res.data.content_type.indexOf("image/") === 0) {
              li.appendChild(el("img", { src: res.data.url, alt: res.data.filename }));
            } else {
              li.appendChild(el("a", { href: res.data.url }, res.data.filename));
            }
            li.appendChild(el("input", { type: "hidden", name: name, value: res.data.id, "data-input": "" }));
            li.appendChild(el("button", { type: "button", "class": "remove", "data-remove-file": "", "aria-label": "×" }, "×"));
            thumbs.appendChild(li);
          });
        });
      });
      chain.then(function () { self.schedule(); });
    });
  };

  // -- location

  RecordForm.prototype.initLocation = function (box) {
    var self = this;
    var button = box.querySelector("[data-locate]");
    var status = box.querySelector("[data-location-status]");
    var lat = box.querySelector("[data-lat]");
    var lng = box.querySelector("[data-lng]");
    var acc = box.querySelector("[data-acc]");
    var manual = box.querySelector("[data-location-manual]");
    button.addEventListener("click", function () {
      if (!navigator.geolocation) {
        status.textContent = self.form.getAttribute("data-locate-failed");
        manual.open = true;
        return;
      }
      status.textContent = self.form.getAttribute("data-locating");
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lng.value = pos.coords.longitude.toFixed(6);
        acc.value = pos.coords.accuracy ? Math.round(pos.coords.accuracy) : "";
        status.textContent = lat.value + ", " + lng.value + (acc.value ? " ±" + acc.value + " m" : "");
        box.setAttribute("data-located", "1");
        self.schedule();
      }, function () {
        status.textContent = self.form.getAttribute("data-locate-failed");
        manual.open = true;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  };

  // -- link picker

  RecordForm.prototype.initLinkPicker = function (box) {
    var self = this;
    var hidden = box.querySelector("[data-link-value]");
    var search = box.querySelector("[data-link-search]");
    var list = box.querySelector("[data-link-options]");
    var url = box.getAttribute("data-lookup-url");
    var timer = null;
    var asked = 0;
    function close() { list.hidden = true; search.setAttribute("aria-expanded", "false"); }
    search.addEventListener("input", function () {
      clearTimeout(timer);
      if (!search.value.trim()) { hidden.value = ""; close(); self.schedule(); return; }
      timer = setTimeout(function () {
        var mine = ++asked;
        fetch(url + "?q=" + encodeURIComponent(search.value.trim()), {
          credentials: "same-origin", headers: { "Accept": "application/json" }
        }).then(function (r) { return r.json(); }).then(function (data) {
          if (mine !== asked) return;
          list.textContent = "";
          (data.items || []).forEach(function (item) {
            var li = el("li", { role: "option" });
            var b = el("button", { type: "button", "data-id": item.id }, item.title);
            b.addEventListener("click", function () {
              hidden.value = item.id;
              search.value = item.title;
              close();
              self.schedule();
            });
            li.appendChild(b);
            list.appendChild(li);
          });
          if (!(data.items || []).length) list.appendChild(el("li", { "class": "none" }, self.form.getAttribute("data-no-results")));
          list.hidden = false;
          search.setAttribute("aria-expanded", "true");
        });
      }, 200);
    });
    search.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
  };

  // ------------------------------------------------------------------ prompts, copy

  function showPrompts(prompts) {
    var box = document.querySelector("[data-prompts]");
    if (!box) return;
    prompts.forEach(function (p) {
      var div = el("div", { "class": "prompt prompt-" + (p.level || "info"), role: "alert", "data-testid": "prompt" });
      if (t(p.title)) div.appendChild(el("strong", { "class": "prompt-title" }, t(p.title)));
      div.appendChild(el("p", { "class": "prompt-message" }, t(p.message)));
      var close = el("button", { type: "button", "class": "link", "data-dismiss": "" }, "×");
      div.appendChild(close);
      box.appendChild(div);
    });
    if (prompts.length) box.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("click", function (e) {
    var dismiss = e.target.closest("[data-dismiss]");
    if (dismiss) { dismiss.closest(".prompt").remove(); return; }
    var copy = e.target.closest("[data-copy]");
    if (copy) {
      var input = document.querySelector(copy.getAttribute("data-copy"));
      if (!input) return;
      input.select();
      var done = function () { copy.textContent = copy.getAttribute("data-copied"); };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(input.value).then(done, done);
      else { try { document.execCommand("copy"); } catch (err) { /* selected for manual copy */ } done(); }
    }
  });

  document.querySelectorAll("form[data-record-form]").forEach(function (form) {
    form.cairn = new RecordForm(form);
  });
})();
