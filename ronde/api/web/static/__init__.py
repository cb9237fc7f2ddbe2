"""Static files of the web pages (CSS, JS), shipped as package data."""
