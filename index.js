// Package entry: the compiled TypeScript facade (js/ -> dist/).
module.exports = require('./dist/index.js')
