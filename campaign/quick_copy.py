"""Form fields and widgets that copy.copy() cheaply, for the sign form.

Django copies every field of a form, and each field's widget, for every form it
makes (BaseForm.__init__ deep-copies base_fields, and Field.__deepcopy__ starts
with copy.copy()). For a plain object copy.copy() goes the pickle protocol's long
way round (__reduce_ex__, then rebuilding the object from what it returned), and
copying the sign form's thirteen fields was a tenth of a sign POST's CPU
(bench/README.md). __copy__ below makes the same object directly: a new instance
with the same attributes. Django's __deepcopy__ then copies what it copies
(widget attrs, validators, error messages) as before.
"""

from django import forms


class QuickCopy:
    def __copy__(self):
        cls = type(self)
        new = cls.__new__(cls)
        new.__dict__.update(self.__dict__)
        return new


def _quick(cls: type, **attributes) -> type:
    """`cls` with QuickCopy's __copy__, under its own name (crispy-forms names
    CSS classes after the widget's class)."""
    return type(cls.__name__, (QuickCopy, cls), {"__module__": __name__, **attributes})


TextInput = _quick(forms.TextInput)
EmailInput = _quick(forms.EmailInput)
Textarea = _quick(forms.Textarea)
HiddenInput = _quick(forms.HiddenInput)
CheckboxInput = _quick(forms.CheckboxInput)

CharField = _quick(forms.CharField, widget=TextInput)
EmailField = _quick(forms.EmailField, widget=EmailInput)
BooleanField = _quick(forms.BooleanField, widget=CheckboxInput)
