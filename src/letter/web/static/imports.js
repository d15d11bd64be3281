/* The import wizard (Audience → Imports → New import).
 *
 * Choosing a file sends only its first rows to the preview, which answers the
 * mapping and options steps; "Start import" sends the whole file once, with
 * the mapping and options, and shows the upload's progress (XMLHttpRequest
 * upload events). Errors are the server's messages: an HTML fragment for a
 * refused form, the API's JSON error for a body over the size limit (413).
 */
(function () {
  'use strict';
  var HEAD_BYTES = 256 * 1024;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
    } catch (e) {
      return '';
    }
  }

  function post(url, data, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      xhr.setRequestHeader('X-CSRF-Token', csrfToken());
      xhr.setRequestHeader('HX-Request', 'true');
      if (onProgress) xhr.upload.addEventListener('progress', onProgress);
      xhr.onload = function () { resolve(xhr); };
      xhr.onerror = function () {
        reject(new Error('The upload did not reach Letter: check the connection and try again.'));
      };
      xhr.send(data);
    });
  }

  // The API's message when the answer is its JSON error (the body size limit).
  function jsonError(xhr) {
    var type = xhr.getResponseHeader('content-type') || '';
    if (type.indexOf('application/json') !== 0) return null;
    try {
      return JSON.parse(xhr.responseText).error.message;
    } catch (e) {
      return 'Letter refused the upload (' + xhr.status + ').';
    }
  }

  // The file's first rows: up to HEAD_BYTES, cut after the last line break.
  function head(file) {
    if (file.size <= HEAD_BYTES) return Promise.resolve(file);
    return file.slice(0, HEAD_BYTES).arrayBuffer().then(function (buffer) {
      var bytes = new Uint8Array(buffer);
      var end = bytes.lastIndexOf(10);
      return new Blob([end > 0 ? bytes.slice(0, end + 1) : bytes], { type: file.type });
    });
  }

  function init(form) {
    if (form.dataset.ready) return;
    form.dataset.ready = '1';
    var input = form.querySelector('input[type=file]');
    var headerRow = form.querySelector('[name=header_row]');
    var mapping = document.getElementById('mapping');
    var fileError = document.getElementById('e-file');
    var box = document.getElementById('upload-progress');
    var bar = document.getElementById('upload-bar');
    var status = document.getElementById('upload-status');

    function fileProblem(text) {
      fileError.textContent = text || '';
      fileError.hidden = !text;
      if (text) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }

    function show(xhr) {
      var text = jsonError(xhr);
      if (text !== null) {
        fileProblem(text);
        return;
      }
      mapping.innerHTML = xhr.responseText;
      var moved = mapping.querySelector('[data-error-for=file]');
      fileProblem(moved ? moved.textContent : '');
      if (moved) moved.remove();
      if (window.htmx) window.htmx.process(mapping);
    }

    function preview() {
      var file = input.files[0];
      mapping.innerHTML = '';
      fileProblem('');
      if (!file) return;
      head(file).then(function (part) {
        var data = new FormData();
        data.append('file', part, file.name);
        data.append('header_row', headerRow.value);
        return post(form.dataset.preview, data);
      }).then(show, function (error) { fileProblem(error.message); });
    }

    function progress(event) {
      if (!event.lengthComputable) return;
      bar.value = Math.round((100 * event.loaded) / event.total);
      status.textContent = bar.value + ' % of ' + Math.ceil(event.total / 1024) + ' KB sent';
    }

    function start(event) {
      event.preventDefault();
      var data = new FormData(form);
      data.delete('header_row');
      var button = form.querySelector('button[type=submit]');
      if (button) button.disabled = true;
      box.hidden = false;
      bar.value = 0;
      post(form.action, data, progress).then(function (xhr) {
        var next = xhr.getResponseHeader('HX-Redirect');
        if (xhr.status < 300 && next) {
          bar.value = 100;
          window.location.assign(next);
          return;
        }
        box.hidden = true;
        show(xhr);
        if (button) button.disabled = false;
      }, function (error) {
        box.hidden = true;
        fileProblem(error.message);
        if (button) button.disabled = false;
      });
    }

    input.addEventListener('change', preview);
    headerRow.addEventListener('change', preview);
    form.addEventListener('submit', start);
    // After a boosted navigation this script runs once the swapped page is
    // already live: a file chosen in between gets its preview now.
    if (input.files.length) preview();
    // A column mapped to "Trait…" asks for the trait's name.
    mapping.addEventListener('change', function (event) {
      var select = event.target;
      if (!select.matches || !select.matches('select[data-target]')) return;
      var name = document.getElementById(select.id.replace('f-map.', 'f-trait.'));
      if (name) name.hidden = select.value !== 'trait';
      if (name && !name.hidden) name.focus();
    });
  }

  document.querySelectorAll('[data-import-wizard]').forEach(init);
})();
