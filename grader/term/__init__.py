"""The term around grading: LMS intake and export, late work, written answers,
formgrader, similarity, feedback pages."""
