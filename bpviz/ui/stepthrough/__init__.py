"""Step through backprop in the main window: the Run menu, the step bar, the docks.

StepController (bpviz.ui.stepthrough.controller) joins the canvas
(GraphScene.show_step), the step-through widgets (bpviz.ui.stepping) and a
StepSession built off the UI thread from the editor's document.
"""
