"""The policy author's desk: tools for the people who write, review and use policy specs.

\b
render            the spec as a readable policy document (Markdown or one HTML file)
explain           a decision with the criteria tree, each node's status and the facts it read
diff              what changed between two versions of a spec, and which golden cases flip
questionnaire     a FHIR R4 Questionnaire (Da Vinci DTR style) asking for the facts a policy needs
questionnaire-decide  a completed QuestionnaireResponse mapped to a PA request and decided
new               a spec skeleton and its golden-case file

Each capability is a module usable without click; the commands are in rxrego.cli.author.
"""
