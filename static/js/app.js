// Page behaviour from a file, not inline: the Content-Security-Policy allows scripts from this site only.

// <form data-confirm="..."> asks before submitting; <form data-confirm-from="select-name"> asks the
// data-confirm of the selected option of that select.
document.addEventListener("submit", function (event) {
  var form = event.target, message = form.dataset && form.dataset.confirm;
  if (form.dataset && form.dataset.confirmFrom && form.elements[form.dataset.confirmFrom]) {
    var option = form.elements[form.dataset.confirmFrom].selectedOptions[0];
    message = option && option.dataset.confirm;
  }
  if (message && !window.confirm(message)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// Countdown to each due instant (.countdown[data-due]); the server gives the instant, the browser counts.
function countdownTick() {
  document.querySelectorAll(".countdown").forEach(function (cell) {
    var seconds = Math.round((new Date(cell.dataset.due) - new Date()) / 1000);
    if (seconds <= 0) { cell.textContent = "due"; return; }
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    cell.textContent = (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
  });
}
document.addEventListener("DOMContentLoaded", function () {
  if (document.querySelector(".countdown")) { countdownTick(); setInterval(countdownTick, 1000); }
});
