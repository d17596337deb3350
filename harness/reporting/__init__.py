"""What a run tells a person afterwards: where its time went, the job summary
(`harness summary`), and the HTML report of the nightly history.
"""
