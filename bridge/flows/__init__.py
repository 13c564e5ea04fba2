"""The login / consent / logout flows between Hydra and Kratos (one module each, helpers in ``common``, the login
hop's pass to the consent hop in ``login_pass``).

Views stay thin: they validate input, call one flow function and turn its result into a response. Every
accept, reject and refusal is audited in the flows, once, with the person who acted as the actor. The browser
is only ever sent to a ``redirect_to`` that Hydra or Kratos returned, or to a Kratos URL built from settings.
"""
