"""The ``schema`` gate: governed files load, have their kind's shape and agree with each other (see ``gate``)."""
