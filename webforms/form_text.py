"""Temporary alias of `web.form_text` while the modules that import it move over."""

from web import form_text as _moved

globals().update({k: v for k, v in vars(_moved).items() if not k.startswith("__")})
