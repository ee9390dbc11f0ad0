// Loaded in <head> without defer, before the page is drawn: html.js makes the folded menu start
// closed on a phone instead of showing open and then closing when portal.js runs. No inline
// script (CSP), so it is a file of its own.
document.documentElement.classList.add("js");
