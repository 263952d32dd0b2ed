// A call center's own additions to every page: this module is loaded after the product's
// scripts and is empty on purpose. The agent page's elements carry data-testid
// attributes that make stable hooks, e.g.:
//   document.querySelector('[data-testid="ringing-customer"]')
