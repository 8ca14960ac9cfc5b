/* "Use my location": fills latitude/longitude from the browser's Geolocation API (no map tiles,
   nothing sent anywhere but the form). Messages come from data attributes (translated server-side). */
(function () {
  function init(root) {
    var button = root.querySelector("[data-locate]");
    if (!button || button.dataset.bound) return;
    button.dataset.bound = "1";
    var status = root.querySelector("[data-locate-status]");
    var lat = root.querySelector("input[name=latitude]");
    var lng = root.querySelector("input[name=longitude]");
    if (!("geolocation" in navigator)) { button.disabled = true; status.textContent = button.dataset.msgUnsupported; return; }
    button.addEventListener("click", function () {
      status.textContent = button.dataset.msgLocating;
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lng.value = pos.coords.longitude.toFixed(6);
        status.textContent = button.dataset.msgDone.replace("%s", Math.round(pos.coords.accuracy));
        button.disabled = false;
      }, function () {
        status.textContent = button.dataset.msgFailed;
        button.disabled = false;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  function initPreview(root) {
    var input = root.querySelector("input[type=file][name=photos]");
    var list = root.querySelector("[data-photo-preview]");
    if (!input || !list || input.dataset.bound) return;
    input.dataset.bound = "1";
    var status = root.querySelector("[data-photo-status]");
    var max = parseInt(list.dataset.max, 10) || 6;
    input.addEventListener("change", function () {
      list.innerHTML = "";
      var files = Array.prototype.slice.call(input.files || []);
      status.textContent = files.length > max ? list.dataset.msgTooMany : "";
      files.slice(0, max).forEach(function (file, i) {
        if (!/^image\//.test(file.type)) return;
        var li = document.createElement("li");
        var img = document.createElement("img");
        img.alt = list.dataset.msgAlt.replace("%s", i + 1);
        img.src = URL.createObjectURL(file);
        img.onload = function () { URL.revokeObjectURL(img.src); };
        li.appendChild(img);
        list.appendChild(li);
      });
    });
  }
  function initAll(root) { init(root); initPreview(root); }
  document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  document.addEventListener("htmx:load", function (e) { initAll(e.target); });
})();
